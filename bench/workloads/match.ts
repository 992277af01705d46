// Rule matching from the event's JSON text (issue 12): rule sets of 100, 1,000 and 10,000 patterns
// built from 30 templates the way marketers write rules (every operator family, `$or` at the top and
// inside detail, arrays of objects where one element must satisfy several conditions), their values
// drawn with skew from small realistic populations (12 countries, 3 device statuses, 4 actions...),
// against 50,000 events of 600-1,200 bytes from every source, with nulls, empty arrays and non-ASCII
// text. Reference in the same run: JSON.parse of the same strings.
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { compilePattern } from '../../lib/core/event-pattern/index.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { checkRule, ruleSchema, type Rule } from '../../lib/core/rules/rule.ts';
import { seededRandom } from '../../lib/core/seeded-random.ts';
import { fmt, median, passes } from '../stats.ts';
import type { Workload } from '../run.ts';

const EVENTS = Number(process.env.BENCH_MATCH_EVENTS ?? 50_000);
const SIZES = (process.env.BENCH_MATCH_SIZES ?? '100,1000,10000').split(',').map(Number);
const CHECKED_EVENTS = 300;

// ---- populations, each drawn with Zipf-like skew (the first value is the most common) ----------
type Rand = () => number;
function zipf<T>(values: readonly T[], s = 1): (rand: Rand) => T {
  const cum: number[] = [];
  let total = 0;
  for (let i = 0; i < values.length; i++) cum.push((total += 1 / (i + 1) ** s));
  return (rand) => {
    const x = rand() * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return values[lo]!;
  };
}
const uniform = <T>(values: readonly T[]) => (rand: Rand): T => values[Math.floor(rand() * values.length)]!;
const range = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));

const COUNTRIES = ['DE', 'FR', 'GB', 'US', 'ES', 'IT', 'NL', 'PL', 'SE', 'AT', 'CH', 'JP'];
const CURRENCY: Record<string, string> = { GB: 'GBP', US: 'USD', PL: 'PLN', SE: 'SEK', CH: 'CHF', JP: 'JPY' };
const LOCALES: Record<string, string> = { DE: 'de-DE', FR: 'fr-FR', GB: 'en-GB', US: 'en-US', ES: 'es-ES', IT: 'it-IT', NL: 'nl-NL', PL: 'pl-PL', SE: 'sv-SE', AT: 'de-AT', CH: 'de-CH', JP: 'ja-JP' };
const PHONE: Record<string, string> = { DE: '+49', FR: '+33', GB: '+44', US: '+1', ES: '+34', IT: '+39', NL: '+31', PL: '+48', SE: '+46', AT: '+43', CH: '+41', JP: '+81' };
const CITIES = ['München', 'Köln', 'Paris', 'Zürich', 'Kraków', 'Malmö', 'Düsseldorf', 'London', 'New York', 'Sevilla', 'Torino', 'Wien', '東京', 'Łódź', 'Genève'];
const NAMES = ['Zoë', 'Jürgen', 'Łukasz', 'Ségolène', 'Björn', 'Anaïs', 'José', 'Małgorzata', 'Søren', 'Ana', 'Émile', 'Hans', 'Yūki', 'Marie', 'Ömer'];
const SURNAMES = ['Müller', 'Keller', 'Dubois', 'Nowak', 'García', 'Rossi', 'Jansen', 'Andersson', 'Öztürk', 'Smith', 'Schmidt', '佐藤', 'Wójcik', 'Lefèvre'];
const TIERS = ['silver', 'gold', 'bronze', 'platinum'];
const PRODUCTS = ['total-security', 'antivirus', 'vpn', 'backup', 'password-manager', 'total-security-pro', 'parental-control', 'identity-protection', 'trial-total-security', 'cleaner-pro'];
const CATEGORIES = ['security-software', 'accessories', 'vpn', 'backup', 'services', 'hardware', 'gift-cards', 'support'];
const SKUS = range(400, (i) => `SKU-${['AV', 'TS', 'VPN', 'BK', 'PM', 'HW', 'GC', 'SV'][i % 8]}-${String(1000 + i)}`);
const STORES = range(150, (i) => `store-${String(i + 1).padStart(3, '0')}`);
const OFFERS = ['RENEW20', 'WELCOME10', 'BLACKFRIDAY', 'RENEW30', 'FAMILY5', 'STUDENT15'];
const STATUSES = ['protected', 'at-risk', 'unprotected'];
const SEVERITIES = ['low', 'medium', 'high', 'critical'];
const ACTIONS = ['quarantined', 'blocked', 'removed', 'none'];
const THREATS = ['Trojan.GenericKD', 'PUA.Optimizer', 'Adware.Agent', 'Ransom.Locky', 'Worm.Conficker', 'Trojan.Emotet', 'PUA.Toolbar', 'Exploit.CVE-2025', 'Phish.Page', 'Backdoor.Agent', 'Spyware.KeyLog', 'Miner.XMRig'];
const PLATFORMS = ['windows', 'android', 'macos', 'ios', 'linux'];
const AGENTS = ['8.2.1', '8.1.4', '7.9.0', '8.2.0', '7.5.3', '6.0.2'];
const CHANNELS = ['email', 'sms', 'push', 'device'];
const VIA = ['web-form', 'unsubscribe-link', 'call-centre', 'complaint', 'app-settings'];
const DOMAINS = ['gmail.com', 'web.de', 'gmx.de', 'outlook.com', 'yahoo.com', 'orange.fr', 'icloud.com', 'example.com', 'wp.pl', 't-online.de'];
const REASONS = ['Damaged', 'wrong item', 'not needed', 'Duplicate charge', 'late delivery', null];
const BOUNCES = ['Permanent', 'Transient', 'Undetermined'];
const LINKS = ['https://shop.example.com/renew', 'https://shop.example.com/vpn', 'https://help.example.com/faq', 'https://shop.example.com/family', 'https://example.com/unsubscribe'];
const SUBNETS = ['10.1', '10.2', '192.168', '172.16', '10.8', '100.64'];
const PAYMENTS = ['card', 'cash', 'paypal', 'klarna', 'apple-pay', 'gift-card'];
const SALES_CHANNELS = ['store', 'web', 'app'];
const OS = ['Windows 11', 'Windows 10', 'Android 14', 'macOS 14', 'iOS 17', 'Android 13', 'Ubuntu 24.04', 'macOS 13'];
const SEGMENTS = range(20, (i) => ['families', 'students', 'gamers', 'smb', 'seniors', 'travellers', 'creators', 'power-users', 'new-parents', 'remote-workers'][i % 10]! + (i < 10 ? '' : '-eu'));
const SUBJECTS = ['Ihr Schutz läuft ab', 'Votre offre exclusive', 'Your licence renews soon', '¡Oferta especial!', 'Nur heute: 20 % Rabatt', 'Security alert', 'Willkommen bei Baton', 'Merci pour votre achat', 'Zeit für ein Upgrade', 'お得なご案内'];
const SES_TYPES = ['Email Delivered', 'Email Opened', 'Email Clicked', 'Email Bounced', 'Email Sent', 'Email Complaint Received'];

const country = zipf(COUNTRIES);
const tier = zipf(TIERS);
const product = zipf(PRODUCTS);
const category = zipf(CATEGORIES);
const sku = zipf(SKUS, 0.9);
const store = zipf(STORES, 0.9);
const offer = zipf(OFFERS);
const status = zipf(STATUSES);
const severity = zipf(SEVERITIES);
const action = zipf(ACTIONS);
const threat = zipf(THREATS);
const platform = zipf(PLATFORMS);
const agent = zipf(AGENTS);
const channel = zipf(CHANNELS);
const via = zipf(VIA);
const domain = zipf(DOMAINS);
const reason = zipf(REASONS);
const bounce = zipf(BOUNCES);
const link = zipf(LINKS);
const subnet = zipf(SUBNETS);
const sesType = zipf(SES_TYPES);
const payment = zipf(PAYMENTS);
const salesChannel = zipf(SALES_CHANNELS);
const os = zipf(OS);
const segment = zipf(SEGMENTS);
const subject = zipf(SUBJECTS);
const city = uniform(CITIES);
const firstName = uniform(NAMES);
const surname = uniform(SURNAMES);

// ---- events -------------------------------------------------------------------------------------
const NOW = Date.parse('2026-03-10T12:00:00.000Z');
const ascii = (s: string) => s.normalize('NFD').replace(/[^a-z]/gi, '').toLowerCase() || 'kunde';

function eventOf(i: number, rand: Rand): string {
  const at = new Date(NOW - Math.floor(rand() * 3_600_000)).toISOString();
  const c = country(rand);
  const cur = CURRENCY[c] ?? 'EUR';
  const who = `${firstName(rand)} ${surname(rand)}`;
  const email = `${ascii(who.split(' ')[0]!)}.${ascii(who.split(' ')[1]!)}${Math.floor(rand() * 100)}@${domain(rand)}`;
  const money = (max: number) => Math.round(rand() * max * 100) / 100;
  const ids = (k: string, v: string) => ({ [k]: v, email: rand() < 0.5 ? email : null });
  const kind = rand();
  let source: string;
  let type: string;
  let detail: Record<string, unknown>;
  if (kind < 0.15) {
    source = 'baton.pos';
    type = 'SaleCompleted';
    const items = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => ({
      sku: sku(rand), category: category(rand), quantity: 1 + Math.floor(rand() * rand() * 5), unitPrice: money(120), discount: rand() < 0.7 ? null : money(10),
    }));
    detail = {
      ids: ids('loyaltyCard', `LC-${Math.floor(rand() * 1e6)}`), occurredAt: at, saleId: `S-${String(i).padStart(7, '0')}`, storeId: store(rand),
      items, total: Math.round(items.reduce((s, x) => s + x.quantity * x.unitPrice, 0) * 100) / 100, currency: cur, country: c,
      offerCodes: rand() < 0.35 ? [offer(rand)] : [], cashier: rand() < 0.5 ? who : null,
      payment: payment(rand), channel: salesChannel(rand), loyaltyPoints: Math.floor(rand() * rand() * 5000),
    };
  } else if (kind < 0.2) {
    source = 'baton.pos';
    type = 'SaleRefunded';
    const r = reason(rand);
    detail = { ids: ids('loyaltyCard', `LC-${Math.floor(rand() * 1e6)}`), occurredAt: at, saleId: `S-${i}`, refundId: `R-${i}`, amount: money(400), currency: cur, country: c, ...(r === null ? {} : { reason: r }) };
  } else if (kind < 0.36) {
    source = 'baton.erp';
    const t = rand();
    type = t < 0.45 ? 'LicenseRenewalDue' : t < 0.65 ? 'LicensePurchased' : t < 0.85 ? 'LicenseRenewed' : 'LicenseExpired';
    const lic = `LIC-${Math.floor(rand() * 1e7)}`;
    detail = { ids: ids('licenseId', lic), occurredAt: at, licenseId: lic, product: product(rand), country: c };
    if (type === 'LicenseRenewalDue') Object.assign(detail, { expiresAt: at, daysLeft: Math.floor(rand() * 45) - 5, autoRenew: rand() < 0.4, seats: 1 + Math.floor(rand() * rand() * 10) });
    else if (type === 'LicensePurchased') Object.assign(detail, { seats: 1 + Math.floor(rand() * rand() * 20), startsAt: at, expiresAt: at, amount: money(300), currency: cur });
    else if (type === 'LicenseRenewed') Object.assign(detail, { expiresAt: at, amount: money(250), currency: cur });
    else Object.assign(detail, { expiredAt: at });
  } else if (kind < 0.64) {
    source = 'baton.device';
    const t = rand();
    type = t < 0.4 ? 'ThreatDetected' : t < 0.65 ? 'DeviceStatusReported' : t < 0.8 ? 'DeviceRegistered' : t < 0.9 ? 'MessageDisplayed' : 'MessageClicked';
    const dev = `dev-${Math.floor(rand() * 1e6).toString(16)}`;
    detail = { ids: ids('deviceId', dev), occurredAt: at, deviceId: dev };
    if (type === 'ThreatDetected') {
      Object.assign(detail, { os: os(rand), threatId: `T-${i}`, threatName: `${threat(rand)}.${Math.floor(rand() * 90 + 10)}`, severity: severity(rand), action: action(rand), ip: `${subnet(rand)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`, path: rand() < 0.5 ? `C:\\Users\\${ascii(who)}\\Downloads\\setup.exe` : null });
    } else if (type === 'DeviceStatusReported') Object.assign(detail, { status: status(rand), agentVersion: agent(rand), platform: platform(rand), os: os(rand), licenseDaysLeft: Math.floor(rand() * 400) - 20 });
    else if (type === 'DeviceRegistered') Object.assign(detail, { platform: platform(rand), agentVersion: agent(rand), ...(rand() < 0.5 ? { pushEndpointArn: `arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/baton/${i}` } : {}) });
    else Object.assign(detail, { decisionId: `dec-${i.toString(16)}`, ...(type === 'MessageClicked' ? { link: link(rand) } : {}) });
  } else if (kind < 0.84) {
    source = 'baton.crm';
    const t = rand();
    type = t < 0.6 ? 'CustomerUpserted' : t < 0.95 ? 'ConsentChanged' : 'CustomerErased';
    const crm = `CRM-${Math.floor(rand() * 1e6)}`;
    if (type === 'CustomerUpserted') {
      detail = {
        ids: ids('crmId', crm), occurredAt: at,
        profile: { firstName: who.split(' ')[0], lastName: who.split(' ')[1], email, phone: rand() < 0.6 ? `${PHONE[c]}${Math.floor(1e8 + rand() * 9e8)}` : null, locale: LOCALES[c], country: c, city: city(rand), tier: rand() < 0.85 ? tier(rand) : null, segment: segment(rand), birthYear: 1940 + Math.floor(rand() * 65), marketingOptIn: rand() < 0.55, tags: rand() < 0.3 ? ['vip'] : rand() < 0.5 ? [] : ['newsletter', 'b2c'] },
      };
    } else if (type === 'ConsentChanged') detail = { ids: ids('crmId', crm), occurredAt: at, channel: channel(rand), granted: rand() < 0.6, via: via(rand) };
    else detail = { ids: ids('crmId', crm), occurredAt: at, requestId: `gdpr-${i}` };
  } else {
    source = 'aws.ses';
    type = sesType(rand);
    const eventType = { 'Email Delivered': 'Delivery', 'Email Opened': 'Open', 'Email Clicked': 'Click', 'Email Bounced': 'Bounce', 'Email Sent': 'Send', 'Email Complaint Received': 'Complaint' }[type]!;
    detail = {
      eventType,
      mail: { timestamp: at, source: 'offers@example.com', messageId: `0107-${i}`, destination: [email], commonHeaders: { subject: subject(rand), from: ['Baton <offers@example.com>'] }, tags: { campaignId: [`campaign-${Math.floor(rand() * 40)}`], ruleId: [`rule-${Math.floor(rand() * 500)}`], customerId: [`cus-${i % 9973}`] } },
    };
    if (type === 'Email Bounced') detail.bounce = { bounceType: bounce(rand), bouncedRecipients: [{ emailAddress: email, status: '5.1.1' }], timestamp: at };
    if (type === 'Email Clicked') detail.click = { timestamp: at, link: link(rand), linkTags: [] };
    if (type === 'Email Opened') detail.open = { timestamp: at, userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)', ipAddress: `${subnet(rand)}.3.4` };
  }
  const event: Record<string, unknown> = { version: '0', id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, 'detail-type': type, source, account: '123456789012', time: at, region: 'eu-west-1', resources: [], detail };
  // Sources attach trace context and free text; pad to a size drawn from 600-1,200 bytes.
  const target = 600 + Math.floor(rand() * 600);
  const notes: string[] = [];
  (detail as { context?: unknown }).context = { trace: `1-${i.toString(16)}-${Math.floor(rand() * 1e9).toString(16)}`, agent: null, notes };
  let text = JSON.stringify(event);
  while (text.length < target) {
    notes.push(rand() < 0.5 ? `Kundin ${who} aus ${city(rand)} – Rückfrage ${Math.floor(rand() * 1000)}` : `note ${Math.floor(rand() * 1e6)} ✓`);
    text = JSON.stringify(event);
  }
  return text;
}

// ---- rule templates -----------------------------------------------------------------------------
type Pattern = Record<string, unknown>;
const on = (source: string, ...types: string[]): Pattern => ({ source: [source], 'detail-type': types });
/** One value most of the time, sometimes a few (60 % one, 30 % two, 10 % three, up to `max`). */
const some = <T>(pick: (r: Rand) => T, rand: Rand, max: number): T[] => {
  const x = rand();
  const n = Math.min(max, x < 0.6 ? 1 : x < 0.9 ? 2 : 3);
  return [...new Set(Array.from({ length: n }, () => pick(rand)))];
};
const threshold = (rand: Rand, values: number[]) => zipf(values)(rand);

/** Thirty kinds of rule, each drawing its values from the populations above. */
const TEMPLATES: ((rand: Rand) => Pattern)[] = [
  // exact on small populations + a numeric threshold
  (r) => ({ ...on('baton.pos', 'SaleCompleted'), detail: { country: some(country, r, 2), total: [{ numeric: ['>=', threshold(r, [100, 50, 200, 150, 300, 500])] }] } }),
  // arrays of objects: one item must have the category AND the quantity (array consistency)
  (r) => ({ ...on('baton.pos', 'SaleCompleted'), detail: { items: { category: [category(r)], quantity: [{ numeric: ['>=', threshold(r, [2, 3, 4])] }] } } }),
  (r) => ({ ...on('baton.pos', 'SaleCompleted'), detail: { storeId: [store(r)], items: { sku: [{ prefix: sku(r).slice(0, 7) }] } } }),
  (r) => ({ ...on('baton.pos', 'SaleCompleted'), detail: { offerCodes: [{ prefix: offer(r).slice(0, 5) }], country: some(country, r, 3) } }),
  (r) => ({ ...on('baton.pos', 'SaleCompleted'), detail: { channel: [salesChannel(r)], currency: [{ 'anything-but': ['EUR'] }], total: [{ numeric: ['>', threshold(r, [50, 100, 20]), '<=', threshold(r, [500, 1000, 250])] }] } }),
  (r) => ({ ...on('baton.pos', 'SaleCompleted'), detail: { offerCodes: [{ exists: false }], total: [{ numeric: ['>', threshold(r, [150, 250, 400])] }], country: [country(r)] } }),
  (r) => ({ ...on('baton.pos', 'SaleRefunded'), detail: { country: [country(r)], reason: [{ 'equals-ignore-case': uniform(['damaged', 'DUPLICATE CHARGE', 'Wrong Item'])(r) }], amount: [{ numeric: ['>', threshold(r, [20, 50, 100])] }] } }),
  (r) => ({ ...on('baton.pos', 'SaleRefunded'), detail: { reason: [{ exists: false }], country: some(country, r, 2) } }),
  (r) => ({ ...on('baton.pos', 'SaleRefunded'), detail: { reason: [{ prefix: { 'equals-ignore-case': uniform(['LATE', 'not', 'dup'])(r) } }] } }),
  // ERP licences
  (r) => ({ ...on('baton.erp', 'LicenseRenewalDue'), detail: { product: [product(r)], daysLeft: [{ numeric: ['<=', threshold(r, [30, 7, 14, 3])] }] } }),
  (r) => ({ ...on('baton.erp', 'LicenseRenewalDue'), detail: { daysLeft: [{ numeric: ['>=', 0, '<', threshold(r, [10, 20, 30])] }], product: [{ 'anything-but': { prefix: 'trial-' } }], country: [country(r)] } }),
  (r) => ({ ...on('baton.erp', 'LicensePurchased'), detail: { seats: [{ numeric: ['>=', threshold(r, [5, 10, 3])] }], currency: some(zipf(['EUR', 'GBP', 'USD', 'CHF']), r, 2) } }),
  (r) => ({ ...on('baton.erp', 'LicenseExpired', 'LicenseRenewalDue'), detail: { product: [uniform([{ suffix: '-pro' }, { wildcard: 'total-*-pro' }, { wildcard: 'trial-*' }])(r)] } }),
  (r) => ({ ...on('baton.erp', 'LicenseRenewed'), detail: { country: [country(r)], amount: [{ numeric: ['<', threshold(r, [50, 100])] }], product: [{ 'anything-but': some(product, r, 3) }] } }),
  // CRM profile and consent
  (r) => ({ ...on('baton.crm', 'CustomerUpserted'), detail: { profile: { country: [country(r)], tier: some(tier, r, 2) } } }),
  (r) => ({ ...on('baton.crm', 'CustomerUpserted'), detail: { profile: { email: [uniform([{ suffix: `@${domain(r)}` }, { suffix: { 'equals-ignore-case': `@${domain(r).toUpperCase()}` } }])(r)] } } }),
  (r) => ({ ...on('baton.crm', 'CustomerUpserted'), detail: { profile: { segment: [segment(r)], locale: [{ prefix: LOCALES[country(r)]!.slice(0, 2) }], tags: [uniform([{ exists: false }, 'vip', { exists: true }])(r)] } } }),
  (r) => ({ ...on('baton.crm', 'CustomerUpserted'), detail: { profile: { phone: [{ prefix: PHONE[country(r)]! }], tier: [null, tier(r)] } } }),
  (r) => ({ ...on('baton.crm', 'CustomerUpserted'), detail: { profile: { city: [{ 'equals-ignore-case': uniform(['MÜNCHEN', 'zürich', 'KRAKÓW', 'malmö', 'Genève'])(r) }] } } }),
  (r) => ({ ...on('baton.crm', 'ConsentChanged'), detail: { channel: [channel(r)], granted: [false], via: [{ 'anything-but': uniform(['unsubscribe-link', ['complaint', 'unsubscribe-link']])(r) }] } }),
  // device security
  (r) => ({ ...on('baton.device', 'ThreatDetected'), detail: { severity: some(severity, r, 2), action: [action(r)] } }),
  (r) => ({ ...on('baton.device', 'ThreatDetected'), detail: { os: [os(r)], ip: [{ cidr: `${subnet(r)}.0.0/16` }], threatName: [{ wildcard: `${threat(r).split('.')[0]}.*` }] } }),
  (r) => ({ ...on('baton.device', 'ThreatDetected'), detail: { threatName: [{ 'anything-but': { wildcard: 'PUA.*' } }], severity: [severity(r)], action: [action(r)] } }),
  (r) => ({ ...on('baton.device', 'DeviceStatusReported'), detail: { status: [status(r)], agentVersion: [{ 'anything-but': { prefix: `${agent(r).slice(0, 2)}` } }] } }),
  (r) => ({ ...on('baton.device', 'DeviceRegistered'), detail: { platform: some(platform, r, 2), pushEndpointArn: [{ exists: uniform([true, false])(r) }] } }),
  (r) => ({ ...on('baton.device', 'MessageClicked'), detail: { link: [{ prefix: link(r).slice(0, 26) }], decisionId: [{ exists: true }] } }),
  // SES feedback
  (r) => ({ ...on('aws.ses', 'Email Bounced'), detail: { bounce: { bounceType: [bounce(r)] }, mail: { destination: [{ suffix: `@${domain(r)}` }] } } }),
  (r) => ({ ...on('aws.ses', 'Email Clicked', 'Email Opened'), detail: { mail: { tags: { campaignId: [`campaign-${Math.floor(r() * 40)}`] } } } }),
  // $or at the top level: big spend in the shop or a big licence
  (r) => ({ $or: [
    { ...on('baton.pos', 'SaleCompleted'), detail: { total: [{ numeric: ['>=', threshold(r, [500, 800, 1000])] }] } },
    { ...on('baton.erp', 'LicensePurchased'), detail: { amount: [{ numeric: ['>=', threshold(r, [250, 280])] }] } },
  ] }),
  // $or inside detail
  (r) => ({ ...on('baton.device', 'ThreatDetected'), detail: { os: some(os, r, 2), $or: [{ severity: ['critical'] }, { action: ['none'], severity: ['high'] }, { threatName: [{ prefix: threat(r) }] }], ip: [{ 'anything-but': { prefix: '10.8.' } }] } }),
  (r) => ({ ...on('baton.erp', 'LicenseRenewalDue'), detail: { autoRenew: [false], daysLeft: [{ 'anything-but': [0, 1] }], $or: [{ product: [product(r)] }, { country: [country(r)] }] } }),
];

// Marketers narrow a template with one to three more conditions on the same event type; the values
// come from the same skewed populations, thresholds from the round numbers people pick.
const amount = zipf([100, 50, 200, 150, 25, 300, 75, 500, 250, 30, 40, 1000, 120, 60, 80, 400, 20, 35, 45, 90, 180, 350, 600, 800, 70, 15, 10, 5, 110, 130]);
const days = zipf([30, 7, 14, 3, 1, 10, 21, 5, 60, 45, 2, 28, 15, 20, 4]);
type Refinement = readonly [path: string, leaf: (r: Rand) => unknown[]];
const email = (r: Rand): unknown[] => [{ suffix: `@${domain(r)}` }];
const REFINE: Record<string, readonly Refinement[]> = {
  SaleCompleted: [
    ['country', (r) => some(country, r, 3)], ['storeId', (r) => [store(r)]], ['total', (r) => [{ numeric: ['>=', amount(r)] }]],
    ['total', (r) => [{ numeric: ['<', amount(r)] }]], ['items.category', (r) => some(category, r, 2)], ['items.sku', (r) => [{ prefix: sku(r).slice(0, 6 + Math.floor(r() * 3)) }]],
    ['offerCodes', (r) => [offer(r)]], ['offerCodes', () => [{ exists: false }]], ['currency', (r) => [{ 'anything-but': some(zipf(['EUR', 'USD', 'GBP']), r, 2) }]],
    ['cashier', () => [null]], ['ids.email', email], ['ids.loyaltyCard', () => [{ exists: true }]], ['items.sku', (r) => some(sku, r, 3)],
    ['payment', (r) => some(payment, r, 2)], ['channel', (r) => [salesChannel(r)]], ['loyaltyPoints', (r) => [{ numeric: ['>=', amount(r) * 10] }]],
    ['items.unitPrice', (r) => [{ numeric: ['>', amount(r)] }]], ['payment', (r) => [{ 'anything-but': [payment(r)] }]],
  ],
  SaleRefunded: [['country', (r) => some(country, r, 2)], ['amount', (r) => [{ numeric: ['>', amount(r)] }]], ['reason', () => [{ exists: true }]], ['currency', (r) => [zipf(['EUR', 'USD', 'GBP'])(r)]]],
  LicenseRenewalDue: [['country', (r) => some(country, r, 2)], ['product', (r) => some(product, r, 2)], ['daysLeft', (r) => [{ numeric: ['<=', days(r)] }]], ['product', () => [{ prefix: 'total' }]], ['ids.email', () => [{ exists: true }]],
    ['autoRenew', (r) => [r() < 0.7 ? false : true]], ['seats', (r) => [{ numeric: ['>=', days(r)] }]]],
  LicensePurchased: [['country', (r) => some(country, r, 2)], ['product', (r) => [product(r)]], ['seats', (r) => [{ numeric: ['>=', days(r)] }]], ['amount', (r) => [{ numeric: ['>=', amount(r)] }]]],
  LicenseRenewed: [['country', (r) => [country(r)]], ['product', (r) => [product(r)]], ['amount', (r) => [{ numeric: ['<', amount(r)] }]]],
  LicenseExpired: [['country', (r) => [country(r)]], ['product', (r) => [{ 'anything-but': [product(r)] }]]],
  CustomerUpserted: [
    ['profile.country', (r) => some(country, r, 2)], ['profile.tier', (r) => some(tier, r, 2)], ['profile.tags', () => ['vip']], ['profile.locale', (r) => [{ prefix: LOCALES[country(r)]!.slice(0, 2) }]],
    ['profile.phone', () => [null]], ['profile.email', email], ['profile.city', (r) => [{ 'equals-ignore-case': city(r).toUpperCase() }]],
    ['profile.segment', (r) => some(segment, r, 3)], ['profile.birthYear', (r) => {
      const from = 1940 + 5 * Math.floor(r() * 12);
      return [{ numeric: ['>=', from, '<', from + 5 * (1 + Math.floor(r() * 4))] }];
    }],
    ['profile.marketingOptIn', () => [true]], ['profile.firstName', (r) => [{ prefix: firstName(r).slice(0, 2) }]],
  ],
  ConsentChanged: [['channel', (r) => [channel(r)]], ['granted', (r) => [r() < 0.7]], ['via', (r) => [via(r)]]],
  ThreatDetected: [['severity', (r) => some(severity, r, 2)], ['action', (r) => [action(r)]], ['threatName', (r) => [{ prefix: threat(r) }]], ['ip', (r) => [{ cidr: `${subnet(r)}.0.0/16` }]], ['path', () => [{ exists: true }]],
    ['threatName', (r) => [`${threat(r)}.${Math.floor(r() * 90 + 10)}`]], ['os', (r) => [{ prefix: os(r).split(' ')[0]! }]]],
  DeviceStatusReported: [['status', (r) => [status(r)]], ['platform', (r) => some(platform, r, 2)], ['agentVersion', (r) => [{ prefix: agent(r).slice(0, 3) }]],
    ['os', (r) => some(os, r, 2)], ['licenseDaysLeft', (r) => [{ numeric: ['<=', days(r)] }]]],
  DeviceRegistered: [['platform', (r) => [platform(r)]], ['agentVersion', (r) => [{ 'anything-but': [agent(r)] }]]],
  MessageClicked: [['link', (r) => [{ prefix: link(r).slice(0, 20) }]]],
  'Email Opened': [['mail.commonHeaders.subject', (r) => [{ prefix: subject(r).slice(0, 8) }]], ['mail.tags.campaignId', (r) => [`campaign-${Math.floor(r() * 40)}`]]],
  'Email Bounced': [['bounce.bounceType', (r) => [bounce(r)]], ['mail.destination', email]],
  'Email Clicked': [['mail.tags.campaignId', (r) => [`campaign-${Math.floor(r() * 40)}`]], ['click.link', (r) => [{ prefix: link(r).slice(0, 24) }]]],
};

function refined(p: Pattern, r: Rand): Pattern {
  const pool = REFINE[(p['detail-type'] as string[] | undefined)?.[0] ?? ''];
  if (!pool) return p;
  const detail = (p.detail ??= {}) as Pattern;
  const extra = r() < 0.4 ? 1 : r() < 0.67 ? 2 : 3;
  for (let k = 0; k < extra; k++) {
    const [path, leaf] = pool[Math.floor(r() * pool.length)]!;
    const segs = path.split('.');
    let node = detail;
    for (const seg of segs.slice(0, -1)) node = (node[seg] ??= {}) as Pattern;
    const last = segs[segs.length - 1]!;
    if (!(last in node) && !Array.isArray(node)) node[last] = leaf(r);
  }
  return p;
}

function rulesOf(n: number, rand: Rand): Rule[] {
  const ifs = [undefined, { tier: ['gold', 'platinum'] }, { spend30d: [{ numeric: ['>', 20] }] }, { lifecycle: [{ 'anything-but': ['lapsed'] }] }];
  return Array.from({ length: n }, (_, i) =>
    ruleSchema.parse({
      ruleId: `rule-${String(i).padStart(5, '0')}`, campaignId: `campaign-${i % 40}`, enabled: true, priority: Math.floor(rand() * 100),
      when: refined(TEMPLATES[i % TEMPLATES.length]!(rand), rand), if: uniform(ifs)(rand), then: { channel: 'email', template: 'offer' },
    }),
  );
}

// ---- measurement --------------------------------------------------------------------------------
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const ms = (fn: () => void): number => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};
let sink = 0;

interface Prepared {
  size: number;
  rules: Rule[];
  ruleSet: RuleSet;
}

function digestOf(ruleSet: RuleSet, texts: readonly string[]): { matches: number; digest: string } {
  const h = createHash('sha256');
  let matches = 0;
  for (let i = 0; i < texts.length; i++) {
    const ids = ruleSet.matching(texts[i]!).map((m) => m.rule.ruleId).sort();
    matches += ids.length;
    h.update(`${i}:${ids.join(',')}\n`);
  }
  return { matches, digest: h.digest('hex').slice(0, 16) };
}

/** The set must answer like the single-pattern matcher, rule by rule, on a sample of events. */
function crossCheck(p: Prepared, texts: readonly string[]): void {
  const single = p.rules.map((r) => ({ id: r.ruleId, fn: compilePattern(r.when) }));
  for (let i = 0; i < CHECKED_EVENTS && i < texts.length; i++) {
    const doc = JSON.parse(texts[i]!) as unknown;
    const expected = single.filter((s) => s.fn(doc)).map((s) => s.id).sort().join(',');
    const got = p.ruleSet.matching(texts[i]!).map((m) => m.rule.ruleId).sort().join(',');
    if (got !== expected) throw new Error(`match sets differ at ${p.size} rules, event ${i}`);
  }
}

export const workload: Workload = {
  name: 'match',
  description: `rule matching from JSON text: ${SIZES.map((s) => fmt(s)).join(' / ')} rules from ${TEMPLATES.length} templates, ${fmt(EVENTS)} events of 600-1,200 bytes, one core`,
  async run() {
    const rand = seededRandom(12);
    const texts = Array.from({ length: EVENTS }, (_, i) => eventOf(i, rand));
    const bytes = texts.reduce((s, t) => s + Buffer.byteLength(t), 0);
    const prepared: Prepared[] = SIZES.map((size) => {
      const rules = rulesOf(size, seededRandom(size));
      return { size, rules, ruleSet: new RuleSet(rules) };
    });
    for (const p of prepared) crossCheck(p, texts);

    // Every pass runs JSON.parse and every size back to back, so a busy machine slows them alike;
    // ratios are medians of per-pass ratios.
    const perPass = await passes(5, 2, () => {
      const parse = EVENTS / (ms(() => {
        for (let i = 0; i < EVENTS; i++) sink += (JSON.parse(texts[i]!) as { id: string }).id.length;
      }) / 1000);
      const rates = prepared.map((p) => EVENTS / (ms(() => {
        for (let i = 0; i < EVENTS; i++) sink += p.ruleSet.matching(texts[i]!).length;
      }) / 1000));
      return { parse, rates };
    });

    // Heap per rule: a fresh set, warmed by matching (lazily compiled parts included).
    const heap = prepared.map((p) => {
      gc();
      const before = process.memoryUsage().heapUsed;
      const fresh = new RuleSet(p.rules);
      for (let i = 0; i < 5_000 && i < EVENTS; i++) sink += fresh.matching(texts[i]!).length;
      gc();
      const bytesPerRule = (process.memoryUsage().heapUsed - before) / p.size;
      sink += fresh.size;
      return bytesPerRule;
    });

    const big = prepared[prepared.length - 1]!;
    // Cold load: the already validated rules into a new set; and from raw items, validation included.
    const cold = median(Array.from({ length: 3 }, () => {
      gc();
      return ms(() => void (sink += new RuleSet(big.rules).size));
    }));
    const items = big.rules.map((r) => JSON.parse(JSON.stringify(r)) as unknown);
    gc();
    const coldValidated = ms(() => {
      const good: Rule[] = [];
      for (const item of items) {
        const c = checkRule(item);
        if (c.ok) good.push(c.rule);
      }
      sink += new RuleSet(good).size;
    });

    // One rule change at the largest size: a refresh that finds one rule added, changed or removed.
    const live = new RuleSet(big.rules);
    const changeRand = seededRandom(99);
    let list = big.rules.slice();
    const changes: number[] = [];
    for (let k = 0; k < 60; k++) {
      const kind = k % 3;
      const at = Math.floor(changeRand() * list.length);
      const fresh = ruleSchema.parse({ ...list[at]!, ruleId: kind === 0 ? `added-${k}` : list[at]!.ruleId, when: TEMPLATES[k % TEMPLATES.length]!(changeRand) });
      if (kind === 0) list = [...list, fresh];
      else if (kind === 1) list = list.map((r, i) => (i === at ? fresh : r));
      else list = list.filter((_, i) => i !== at);
      const next = list;
      changes.push(ms(() => void live.update(next)));
    }
    const change = median(changes);
    const changeMax = Math.max(...changes);

    const rows = prepared.map((p, i) => ({ p, ...digestOf(p.ruleSet, texts), rate: median(perPass.map((x) => x.rates[i]!)), overParse: median(perPass.map((x) => x.rates[i]! / x.parse)), heap: heap[i]! }));
    const parseRate = median(perPass.map((x) => x.parse));
    if (sink === -1) console.log(sink);
    console.log(`${fmt(EVENTS)} events, ${fmt(bytes / EVENTS)} bytes on average; JSON.parse ${fmt(parseRate)} events/s`);
    console.log('rules   match ev/s (parsing included)   ÷ JSON.parse   ÷ 100-rule rate   matches/pass   digest             heap/rule  cond./rule  distinct  paths  trie nodes');
    for (const r of rows) {
      const s = r.p.ruleSet.stats();
      const vsSmall = median(perPass.map((x) => x.rates[rows.indexOf(r)]! / x.rates[0]!));
      console.log([
        fmt(r.p.size).padStart(6), fmt(r.rate).padStart(31), `${fmt(r.overParse, 2)}×`.padStart(14), `${fmt(vsSmall, 2)}×`.padStart(17),
        fmt(r.matches).padStart(14), `  ${r.digest}`, `${fmt(r.heap / 1024, 2)} KB`.padStart(11), fmt(s.conditionUses / s.patterns, 1).padStart(10), fmt(s.conditions).padStart(9), fmt(s.paths).padStart(6), fmt(s.trieNodes).padStart(11),
      ].join(' '));
    }
    const scaling = median(perPass.map((x) => x.rates[x.rates.length - 1]! / x.rates[0]!));
    const last = rows[rows.length - 1]!;
    console.log(`cold load of ${fmt(big.size)} rules: ${fmt(cold)} ms (validated rules), ${fmt(coldValidated)} ms with validation; one rule change at ${fmt(big.size)} rules: median ${fmt(change, 2)} ms, max ${fmt(changeMax, 2)} ms (60 changes: add, change, remove)`);
    console.log(`match sets agree with compilePattern on the first ${CHECKED_EVENTS} events at every size`);
    const goal = (name: string, figure: string, target: string, ok: boolean) => console.log(`  ${name.padEnd(44)} ${figure.padStart(10)}   goal ${target.padEnd(14)} ${ok ? 'PASS' : 'MISS'}`);
    console.log('goals (issue 12):');
    goal(`rate at ${fmt(big.size)} ÷ rate at ${fmt(prepared[0]!.size)} rules`, fmt(scaling, 2), '≥ 0.7', scaling >= 0.7);
    goal(`rate at ${fmt(big.size)} rules ÷ JSON.parse rate`, fmt(last.overParse, 2), '≥ 0.25 (aim 0.5)', last.overParse >= 0.25);
    goal(`heap per rule at ${fmt(big.size)} rules`, `${fmt(last.heap / 1024, 2)} KB`, '≤ 6 KB', last.heap <= 6 * 1024);
    goal(`cold load of ${fmt(big.size)} validated rules`, `${fmt(cold)} ms`, '< 1,000 ms', cold < 1000);
    goal(`one rule change at ${fmt(big.size)} rules (median)`, `${fmt(change, 2)} ms`, '< 10 ms', change < 10);
  },
};
export const __testing = { eventOf, rulesOf };
