// SMS cost: a message is split into parts (160 GSM-7 characters, or 70 UCS-2; 153 and 67 when
// concatenated), and each part is billed. Baton enforces its own monthly SMS budget before each
// send, because SNS's spend limit only takes effect minutes late (platform.md 1.10).

// The GSM 03.38 basic character set; the extension table characters count twice.
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXTENDED = new Set('^{}\\[~]|€\f');

export interface SmsParts {
  readonly encoding: 'GSM-7' | 'UCS-2';
  readonly parts: number;
}

export function smsParts(text: string): SmsParts {
  let septets = 0;
  let gsm = true;
  for (const ch of text) {
    if (GSM_BASIC.has(ch)) septets += 1;
    else if (GSM_EXTENDED.has(ch)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (gsm) return { encoding: 'GSM-7', parts: septets <= 160 ? 1 : Math.ceil(septets / 153) };
  // UCS-2 counts UTF-16 code units (an emoji is two).
  const units = text.length;
  return { encoding: 'UCS-2', parts: units <= 70 ? 1 : Math.ceil(units / 67) };
}

/** Whole micro-dollars (1e-6 USD): integers, so sums in DynamoDB stay exact. */
export const toMicros = (usd: number): number => Math.round(usd * 1_000_000);

/** The month an SMS is billed in (UTC), the key of its budget counter. */
export const billingMonth = (at: Date): string => at.toISOString().slice(0, 7);
