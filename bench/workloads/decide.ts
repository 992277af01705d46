// The decision step in-process (issue 6, item 7): compiled rules, customer views already loaded,
// campaigns and policy in memory, no I/O. Reported against two references measured in the same run
// on the same data: JSON.parse of the event strings, and json-rules-engine on the same rules.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Engine } from 'json-rules-engine';
import { decide, type DecisionSubject } from '../../lib/core/decide.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { ruleSchema, type Rule } from '../../lib/core/rules/rule.ts';
import { campaignSchema, StaticCampaignBook } from '../../lib/core/campaigns/campaign.ts';
import { policySchema } from '../../lib/core/campaigns/policy.ts';
import { fmt, median, passes, percentile } from '../stats.ts';
import type { Workload } from '../run.ts';
import { seededRandom as prng } from '../../lib/core/seeded-random.ts';

const EVENTS = 50_000;
const CUSTOMERS = 1_000;
// BENCH_DECIDE_SIZES=1000 runs one size (profiling); the goals need all three.
const SIZES = (process.env.BENCH_DECIDE_SIZES ?? '100,1000,10000').split(',').map(Number);
const NOW = new Date('2026-03-10T12:00:00.000Z');

// ---- conditions, written once and turned into both an EventBridge pattern and json-rules-engine --
type Cond =
  | { path: string[]; kind: 'in'; values: string[] }
  | { path: string[]; kind: 'numeric'; op: '<' | '<=' | '>' | '>='; n: number }
  | { path: string[]; kind: 'prefix' | 'suffix' | 'eic' | 'wildcard' | 'cidr'; value: string }
  | { path: string[]; kind: 'anything-but'; values: string[] }
  | { path: string[]; kind: 'exists'; value: boolean }
  | { kind: 'or'; branches: Cond[][] };

function leaf(c: Exclude<Cond, { kind: 'or' }>): unknown[] {
  switch (c.kind) {
    case 'in':
      return c.values;
    case 'numeric':
      return [{ numeric: [c.op, c.n] }];
    case 'prefix':
      return [{ prefix: c.value }];
    case 'suffix':
      return [{ suffix: c.value }];
    case 'eic':
      return [{ 'equals-ignore-case': c.value }];
    case 'wildcard':
      return [{ wildcard: c.value }];
    case 'cidr':
      return [{ cidr: c.value }];
    case 'anything-but':
      return [{ 'anything-but': c.values }];
    case 'exists':
      return [{ exists: c.value }];
  }
}

function toPattern(conds: Cond[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of conds) {
    if (c.kind === 'or') {
      out.$or = c.branches.map(toPattern);
      continue;
    }
    let node = out;
    for (const seg of c.path.slice(0, -1)) node = (node[seg] ??= {}) as Record<string, unknown>;
    node[c.path[c.path.length - 1]!] = leaf(c);
  }
  return out;
}

// The same conditions for json-rules-engine: a JSONPath per field, custom operators where it has none.
function toJre(conds: Cond[], fact: string): Record<string, unknown>[] {
  return conds.map((c) => {
    if (c.kind === 'or') return { any: c.branches.map((b) => ({ all: toJre(b, fact) })) };
    const path = `$.${c.path.join('.')}`;
    const base = { fact, path };
    switch (c.kind) {
      case 'in':
        return { ...base, operator: 'anyIn', value: c.values };
      case 'numeric':
        return { ...base, operator: { '<': 'lessThan', '<=': 'lessThanInclusive', '>': 'greaterThan', '>=': 'greaterThanInclusive' }[c.op], value: c.n };
      case 'anything-but':
        return { ...base, operator: 'anythingBut', value: c.values };
      default:
        return { ...base, operator: c.kind, value: c.value };
    }
  });
}

const anyOf = (v: unknown, f: (x: unknown) => boolean) => (Array.isArray(v) ? v.some(f) : f(v));
function ipv4(ip: string): number | undefined {
  const p = ip.split('.').map(Number);
  return p.length === 4 && p.every((x) => Number.isInteger(x) && x >= 0 && x < 256) ? ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0 : undefined;
}
function jreEngine(rules: { when: Cond[]; if: Cond[]; ruleId: string; priority: number }[]): Engine {
  const engine = new Engine([], { allowUndefinedFacts: true });
  engine.addOperator('anyIn', (a: unknown, b: unknown) => anyOf(a, (x) => (b as unknown[]).includes(x)));
  engine.addOperator('prefix', (a: unknown, b: unknown) => anyOf(a, (x) => typeof x === 'string' && x.startsWith(b as string)));
  engine.addOperator('suffix', (a: unknown, b: unknown) => anyOf(a, (x) => typeof x === 'string' && x.endsWith(b as string)));
  engine.addOperator('eic', (a: unknown, b: unknown) => anyOf(a, (x) => typeof x === 'string' && x.toLowerCase() === (b as string).toLowerCase()));
  engine.addOperator('anythingBut', (a: unknown, b: unknown) => a !== undefined && !anyOf(a, (x) => (b as unknown[]).includes(x)));
  engine.addOperator('exists', (a: unknown, b: unknown) => (a !== undefined) === b);
  engine.addOperator('wildcard', (a: unknown, b: unknown) => {
    const re = new RegExp(`^${(b as string).split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return anyOf(a, (x) => typeof x === 'string' && re.test(x));
  });
  engine.addOperator('cidr', (a: unknown, b: unknown) => {
    const [net, bits] = (b as string).split('/');
    const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
    return anyOf(a, (x) => typeof x === 'string' && ((ipv4(x) ?? -1) & mask) >>> 0 === (ipv4(net!)! & mask) >>> 0);
  });
  for (const r of rules) {
    engine.addRule({
      name: r.ruleId,
      priority: r.priority + 1,
      conditions: { all: [...toJre(r.when, 'event'), ...toJre(r.if, 'customer')] } as never,
      event: { type: r.ruleId },
    });
  }
  return engine;
}

// ---- data ---------------------------------------------------------------------------------------
const TIERS = ['bronze', 'silver', 'gold', 'platinum'];
const ZONES = ['Europe/Berlin', 'Europe/London', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney', 'America/Los_Angeles'];
const CATEGORIES = ['security-software', 'accessories', 'vpn', 'backup', 'services', 'hardware', 'gift-cards', 'support'];
const SEVERITIES = ['low', 'medium', 'high', 'critical'];

function customers(rand: () => number): DecisionSubject[] {
  return Array.from({ length: CUSTOMERS }, (_, i) => ({
    customerId: `cus-${i}`,
    tier: TIERS[Math.floor(rand() * 4)],
    timeZone: ZONES[i % ZONES.length],
    consent: { email: rand() < 0.8, sms: rand() < 0.4, push: rand() < 0.5, device: true },
    lifecycle: ['new', 'active', 'renewal-due', 'lapsed'][Math.floor(rand() * 4)],
    spend30d: Math.round(rand() * 300),
    products: ['total-security'],
    tags: rand() < 0.3 ? ['vip'] : [],
    devices: [{ deviceId: `dev-${i}`, platform: 'windows', status: 'protected', threats: 0, push: true }],
    lastContact: {},
  }));
}

/** Keys of the selective fields: the key space grows with the rule count, so every size sees the same share of matching events. */
const keyspace = (rules: number) => Math.max(40, 2 * rules);

function events(rand: () => number, keys: number): string[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const key = (prefix: string) => `${prefix}-${Math.floor(rand() * keys)}`;
  const out: string[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const c = Math.floor(rand() * CUSTOMERS);
    const at = new Date(NOW.getTime() - Math.floor(rand() * 3_600_000)).toISOString();
    const kind = rand();
    let source: string;
    let type: string;
    let detail: Record<string, unknown>;
    if (kind < 0.4) {
      source = 'baton.pos';
      type = 'SaleCompleted';
      const items = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => ({
        sku: key('sku'),
        category: pick(CATEGORIES),
        quantity: 1 + Math.floor(rand() * 3),
        unitPrice: Math.round(rand() * 10_000) / 100,
      }));
      detail = {
        ids: { loyaltyCard: `LC-${c}` },
        occurredAt: at,
        saleId: `S-${String(i).padStart(6, '0')}-2026`,
        storeId: key('store'),
        items,
        total: Math.round(items.reduce((s, x) => s + x.quantity * x.unitPrice, 0) * 100) / 100,
        currency: rand() < 0.9 ? 'EUR' : 'USD',
        ...(rand() < 0.3 ? { offerCodes: ['RENEW20'] } : {}),
      };
    } else if (kind < 0.5) {
      source = 'baton.pos';
      type = 'SaleRefunded';
      detail = { ids: { loyaltyCard: `LC-${c}` }, occurredAt: at, saleId: `S-${i}`, refundId: `R-${i}`, storeId: key('store'), amount: Math.round(rand() * 5000) / 100, currency: 'EUR' };
    } else if (kind < 0.7) {
      source = 'baton.erp';
      type = pick(['LicenseRenewalDue', 'LicenseExpired']);
      detail = { ids: { licenseId: `LIC-${c}` }, occurredAt: at, licenseId: `LIC-${c}`, product: key('product'), expiresAt: at, daysLeft: Math.floor(rand() * 60) - 5 };
    } else if (kind < 0.9) {
      source = 'baton.device';
      type = 'ThreatDetected';
      detail = {
        ids: { deviceId: `dev-${c}` },
        occurredAt: at,
        deviceId: `dev-${c}`,
        threatId: `T-${i}`,
        threatName: key('threat'),
        severity: pick(SEVERITIES),
        action: pick(['quarantined', 'blocked', 'removed', 'none']),
        ip: `10.${Math.floor(rand() * 4)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`,
      };
    } else {
      source = 'baton.crm';
      type = 'CustomerUpserted';
      detail = { ids: { crmId: `CRM-${c}` }, occurredAt: at, profile: { tier: pick(TIERS), locale: 'de-DE', country: 'DE', timeZone: 'Europe/Berlin' } };
    }
    const event = { version: '0', id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, 'detail-type': type, source, account: '123456789012', time: at, region: 'eu-west-1', resources: [] as string[], detail };
    // Sources attach trace and label context; pad to a size drawn from 400-900 bytes.
    const target = 400 + Math.floor(rand() * 500);
    const labels: string[] = [];
    (detail as { context?: unknown }).context = { trace: `1-${i.toString(16)}-${'0'.repeat(8)}`, labels };
    let text = JSON.stringify(event);
    for (let room = target - text.length; room > 12; room -= 12) labels.push(`l${String(Math.floor(rand() * 1e6)).padStart(7, '0')}`);
    text = JSON.stringify(event);
    out.push(text);
  }
  return out;
}

interface GeneratedRule {
  ruleId: string;
  priority: number;
  campaignId: string;
  when: Cond[];
  if: Cond[];
  then: Rule['then'];
}

/** Rules as marketers write them: one event type, one store/SKU/product/threat, one more condition of any operator family. */
function rules(n: number, rand: () => number, keys: number): GeneratedRule[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const key = (prefix: string) => `${prefix}-${Math.floor(rand() * keys)}`;
  // Broad rules (event type and a threshold only) cannot be indexed further and are tested for every
  // event of their type; a deployment has a handful (thank-you, win-back...), not thousands.
  // Ten at every size, so each size sees the same share of matching events.
  const broad = 10;
  const out: GeneratedRule[] = [];
  for (let i = 0; i < n; i++) {
    const family = i % 11;
    // Broad rules cover the event types in fixed proportions, so every size has the same ten.
    const kind = i < broad ? [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9][i]! : rand();
    let when: Cond[];
    const src = (s: string, t: string[]): Cond[] => [
      { path: ['source'], kind: 'in', values: [s] },
      { path: ['detail-type'], kind: 'in', values: t },
    ];
    if (kind < 0.45) {
      const extra: Cond[] = [
        { path: ['detail', 'total'], kind: 'numeric', op: '>=', n: 50 },
        { path: ['detail', 'saleId'], kind: 'prefix', value: 'S-0' },
        { path: ['detail', 'currency'], kind: 'suffix', value: 'UR' },
        { path: ['detail', 'currency'], kind: 'anything-but', values: ['USD'] },
        { path: ['detail', 'offerCodes'], kind: 'exists', value: true },
        { path: ['detail', 'currency'], kind: 'eic', value: 'eur' },
        { path: ['detail', 'saleId'], kind: 'wildcard', value: 'S-*-2026' },
        { kind: 'or', branches: [[{ path: ['detail', 'total'], kind: 'numeric', op: '>', n: 150 }], [{ path: ['detail', 'offerCodes'], kind: 'exists', value: true }]] },
        { path: ['detail', 'items', 'category'], kind: 'in', values: [pick(CATEGORIES)] },
        { path: ['detail', 'items', 'quantity'], kind: 'numeric', op: '>', n: 1 },
        { path: ['detail', 'offerCodes'], kind: 'exists', value: false },
      ];
      const selective: Cond = rand() < 0.6 ? { path: ['detail', 'storeId'], kind: 'in', values: [key('store')] } : { path: ['detail', 'items', 'sku'], kind: 'in', values: [key('sku')] };
      when = [...src('baton.pos', ['SaleCompleted']), ...(i < broad ? [] : [selective]), extra[family]!];
    } else if (kind < 0.55) {
      when = [...src('baton.pos', ['SaleRefunded']), ...(i < broad ? [] : [{ path: ['detail', 'storeId'], kind: 'in', values: [key('store')] } as Cond]), { path: ['detail', 'amount'], kind: 'numeric', op: '>', n: 20 }];
    } else if (kind < 0.75) {
      const extra: Cond[] = [
        { path: ['detail', 'daysLeft'], kind: 'numeric', op: '<=', n: 30 },
        { path: ['detail', 'licenseId'], kind: 'prefix', value: 'LIC-1' },
        { path: ['detail', 'licenseId'], kind: 'suffix', value: '7' },
      ];
      when = [...src('baton.erp', rand() < 0.5 ? ['LicenseRenewalDue'] : ['LicenseRenewalDue', 'LicenseExpired']), ...(i < broad ? [] : [{ path: ['detail', 'product'], kind: 'in', values: [key('product')] } as Cond]), extra[family % 3]!];
    } else {
      const extra: Cond[] = [
        { path: ['detail', 'ip'], kind: 'cidr', value: '10.1.0.0/16' },
        { path: ['detail', 'severity'], kind: 'in', values: ['high', 'critical'] },
        { path: ['detail', 'action'], kind: 'anything-but', values: ['removed'] },
        { path: ['detail', 'threatId'], kind: 'wildcard', value: 'T-*5' },
      ];
      when = [...src('baton.device', ['ThreatDetected']), ...(i < broad ? [] : [{ path: ['detail', 'threatName'], kind: 'in', values: [key('threat')] } as Cond]), extra[family % 4]!];
    }
    if (i < broad) {
      // Broad rules carry a threshold, as marketers' broad rules do (big baskets, last week before expiry).
      const threshold: Cond[] = [
        { path: ['detail', 'total'], kind: 'numeric', op: '>=', n: 250 },
        { path: ['detail', 'total'], kind: 'numeric', op: '>=', n: 250 },
        { path: ['detail', 'amount'], kind: 'numeric', op: '>', n: 45 },
        { path: ['detail', 'daysLeft'], kind: 'numeric', op: '<=', n: 3 },
        { path: ['detail', 'severity'], kind: 'in', values: ['critical'] },
      ];
      const k = kind < 0.45 ? 0 : kind < 0.55 ? 2 : kind < 0.75 ? 3 : 4;
      when = [...when.slice(0, 2), threshold[k]!];
    }
    const ifs: Cond[][] = [
      [],
      [{ path: ['tier'], kind: 'in', values: ['gold', 'platinum'] }],
      [{ path: ['spend30d'], kind: 'numeric', op: '>', n: 20 }],
      [{ path: ['lifecycle'], kind: 'anything-but', values: ['lapsed'] }],
    ];
    const channel = pick(['email', 'email', 'sms', 'push', 'device', 'bus'] as const);
    out.push({
      ruleId: `rule-${String(i).padStart(5, '0')}`,
      priority: Math.floor(rand() * 100),
      campaignId: `campaign-${i % 50}`,
      when,
      if: pick(ifs),
      then: channel === 'bus' ? { channel: 'bus', action: 'notify-crm' } : { channel, template: 'offer', offer: 'SAVE10', transactional: false },
    });
  }
  return out;
}

// ---- measurement -----------------------------------------------------------------------------
// A full collection before each heap reading, so the figure is what the compiled rules hold.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function rate(count: number, fn: () => void): number {
  const t0 = performance.now();
  fn();
  return count / ((performance.now() - t0) / 1000);
}

interface Prepared {
  size: number;
  texts: string[];
  parsed: { id: string; source: string; 'detail-type': string }[];
  views: DecisionSubject[];
  generated: GeneratedRule[];
  ruleSet: RuleSet;
  book: StaticCampaignBook;
  heapMb: number;
  compileMs: number;
}

function prepare(size: number): Prepared {
  const rand = prng(size);
  const keys = keyspace(size);
  const views = customers(rand);
  const texts = events(rand, keys);
  const parsed = texts.map((t) => JSON.parse(t) as { id: string; source: string; 'detail-type': string });
  const generated = rules(size, rand, keys);
  const defs = generated.map((r) => ruleSchema.parse({ ...r, enabled: true, when: toPattern(r.when), if: r.if.length ? toPattern(r.if) : undefined }));
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const ruleSet = new RuleSet(defs);
  const compileMs = performance.now() - t0;
  gc();
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
  const book = new StaticCampaignBook(
    Array.from({ length: 50 }, (_, i) =>
      campaignSchema.parse({ campaignId: `campaign-${i}`, priority: i % 5, ...(i % 3 === 0 ? { budget: { unit: 'messages', limit: 100_000 }, capacityPerHour: { email: 5000 } } : {}) }),
    ),
    [policySchema.parse({ policyId: 'default', caps: { email: { perDay: 2, perWeek: 5 } }, cooldownHours: 1, quietHours: { start: '21:00', end: '08:00' } })],
  );
  return { size, texts, parsed, views, generated, ruleSet, book, heapMb, compileMs };
}

let sink = 0;
function passOf(p: Prepared): { parse: number; decide: number; match: number; decided: number } {
  const n = p.parsed.length;
  let decided = 0;
  const parse = rate(n, () => {
    for (let i = 0; i < n; i++) sink += (JSON.parse(p.texts[i]!) as { id: string }).id.length;
  });
  const decide_ = rate(n, () => {
    for (let i = 0; i < n; i++) {
      if (decide({ event: p.parsed[i]!, customer: p.views[i % CUSTOMERS]!, rules: p.ruleSet, campaigns: p.book, now: NOW, contacts: [] })) decided++;
    }
  });
  const match = rate(n, () => {
    for (let i = 0; i < n; i++) sink += p.ruleSet.matching(p.parsed[i]!).length;
  });
  return { parse, decide: decide_, match, decided: decided / n };
}

/** Rule branches examined per event once all their conditions held (the index's residual work). */
function checkedPerEvent(p: Prepared): number {
  let sum = 0;
  for (const e of p.parsed) {
    p.ruleSet.matching(e);
    sum += p.ruleSet.lastChecked;
  }
  return sum / p.parsed.length;
}

async function finish(p: Prepared, runs: ReturnType<typeof passOf>[]): Promise<Record<string, number>> {
  const n = p.parsed.length;
  // Latency of single decisions (timer overhead included, so slightly pessimistic).
  const lat: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    decide({ event: p.parsed[i]!, customer: p.views[i % CUSTOMERS]!, rules: p.ruleSet, campaigns: p.book, now: NOW, contacts: [] });
    lat[i] = (performance.now() - s) * 1000;
  }
  lat.sort((a, b) => a - b);
  // json-rules-engine on a sample, for at least ~1.5 s or 2,000 events.
  const engine = jreEngine(p.generated);
  let jreEvents = 0;
  const jStart = performance.now();
  while (jreEvents < 2000 && (performance.now() - jStart < 1500 || jreEvents < 5)) {
    await engine.run({ event: p.parsed[jreEvents]!, customer: p.views[jreEvents % CUSTOMERS]! });
    jreEvents++;
  }
  const jreRate = jreEvents / ((performance.now() - jStart) / 1000);
  return {
    size: p.size,
    decide: median(runs.map((r) => r.decide)),
    parse: median(runs.map((r) => r.parse)),
    match: median(runs.map((r) => r.match)),
    decideOverParse: median(runs.map((r) => r.decide / r.parse)),
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    jre: jreRate,
    jreEvents,
    heapMb: p.heapMb,
    compileMs: p.compileMs,
    decided: runs[0]!.decided,
    checked: checkedPerEvent(p),
  };
}

export const workload: Workload = {
  name: 'decide',
  description: `decision step in-process: ${SIZES.map((s) => fmt(s)).join(' / ')} rules, ${fmt(EVENTS)} events of 400-900 bytes, one core`,
  async run() {
    const prepared = SIZES.map(prepare);
    // Every pass runs every size back to back, so a busy machine slows them alike; ratios between
    // sizes and against JSON.parse are medians of per-pass ratios.
    const perPass = await passes(5, 2, () => prepared.map(passOf));
    const rows: Record<string, number>[] = [];
    for (const [i, p] of prepared.entries()) rows.push(await finish(p, perPass.map((pass) => pass[i]!)));
    const scaling = median(perPass.map((pass) => pass[pass.length - 1]!.decide / pass[0]!.decide));
    if (sink === -1) console.log(sink);
    console.log('rules    decide ev/s  p50 µs  p99 µs  match ev/s   JSON.parse ev/s  decide/parse  jre ev/s (sample)  decide/jre  heap MB  compile ms  decided  checked/ev');
    for (const r of rows) {
      console.log(
        [
          fmt(r.size!).padStart(6),
          fmt(r.decide!).padStart(12),
          fmt(r.p50!, 2).padStart(7),
          fmt(r.p99!, 2).padStart(7),
          fmt(r.match!).padStart(11),
          fmt(r.parse!).padStart(16),
          `${fmt(r.decideOverParse!, 2)}×`.padStart(13),
          `${fmt(r.jre!, 1)} (${r.jreEvents})`.padStart(18),
          `${fmt(r.decide! / r.jre!)}×`.padStart(11),
          fmt(r.heapMb!, 1).padStart(8),
          fmt(r.compileMs!).padStart(11),
          `${fmt(r.decided! * 100, 1)} %`.padStart(8),
          fmt(r.checked!, 2).padStart(10),
        ].join(' '),
      );
    }
    const small = rows[0]!;
    const big = rows[rows.length - 1]!;
    const mid = rows.find((r) => r.size === 1000) ?? small;
    console.log(
      `goals: 1,000 rules decide/JSON.parse ${fmt(mid.decideOverParse!, 2)} (≥ 1), p99 ${fmt(mid.p99!, 1)} µs (< 100), decide/json-rules-engine ${fmt(mid.decide! / mid.jre!)}× (≥ 1,000); ${fmt(big.size!)} vs ${fmt(small.size!)} rules ${fmt(scaling, 2)} (≥ 0.7)`,
    );
  },
};
