// IP addresses, parsed without allocating: for `cidr` and for exact strings that are IP literals
// (EventBridge matches those by address, however the address is written).

export const ipScratch = new Uint8Array(16);
export const ipScratch2 = new Uint8Array(16);

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses an IPv4 (dotted quad) or IPv6 literal into `out`, without allocating.
 * Returns 4, 16, or 0 when `s` is not an address. IPv4-mapped IPv6 addresses
 * come back as IPv4, as Java's InetAddress (used by event-ruler) does.
 */
export function parseIp(s: string, out: Uint8Array): 0 | 4 | 16 {
  const len = s.length;
  if (len < 2 || len > 45) return 0;
  if (s.indexOf(':') < 0) {
    let part = 0;
    let i = 0;
    while (part < 4) {
      const start = i;
      let v = 0;
      while (i < len && isDigit(s.charCodeAt(i))) {
        v = v * 10 + (s.charCodeAt(i) - 48);
        i++;
      }
      const digits = i - start;
      // Leading zeros are refused: they are ambiguous (octal in some parsers).
      if (digits === 0 || digits > 3 || v > 255 || (digits > 1 && s.charCodeAt(start) === 48)) return 0;
      out[part++] = v;
      if (part < 4) {
        if (s.charCodeAt(i) !== 46) return 0;
        i++;
      }
    }
    return i === len ? 4 : 0;
  }
  // IPv6: groups of 1-4 hex digits, at most one "::".
  let n = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return 0;
    gap = 0;
    i = 2;
  }
  const groups = ipGroups;
  while (i < len) {
    let v = 0;
    let d = 0;
    let h: number;
    while (i < len && (h = hexVal(s.charCodeAt(i))) >= 0) {
      v = v * 16 + h;
      i++;
      if (++d > 4) return 0;
    }
    if (d === 0 || n === 8) return 0;
    groups[n++] = v;
    if (i === len) break;
    if (s.charCodeAt(i) !== 58) return 0;
    i++;
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return 0;
      gap = n;
      i++;
      if (i === len) break;
    } else if (i === len) {
      return 0;
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return 0;
  const zeros = 8 - n;
  let g = 0;
  for (let k = 0; k < 8; k++) {
    let v = 0;
    if (gap >= 0 && k >= gap && k < gap + zeros) v = 0;
    else v = groups[g++] as number;
    out[2 * k] = v >> 8;
    out[2 * k + 1] = v & 0xff;
  }
  let mapped = out[10] === 0xff && out[11] === 0xff;
  for (let k = 0; mapped && k < 10; k++) if (out[k] !== 0) mapped = false;
  if (mapped) {
    out[0] = out[12] as number;
    out[1] = out[13] as number;
    out[2] = out[14] as number;
    out[3] = out[15] as number;
    return 4;
  }
  return 16;
}

const ipGroups = new Uint16Array(8);

export function bytesInRange(b: Uint8Array, lo: Uint8Array, hi: Uint8Array, n: number): boolean {
  let i = 0;
  while (i < n && b[i] === lo[i]) i++;
  if (i < n && (b[i] as number) < (lo[i] as number)) return false;
  i = 0;
  while (i < n && b[i] === hi[i]) i++;
  return !(i < n && (b[i] as number) > (hi[i] as number));
}

/** True when `s` is an IPv4 or IPv6 literal. */
export function ipLooking(s: string): boolean {
  return parseIp(s, ipScratch2) !== 0;
}
