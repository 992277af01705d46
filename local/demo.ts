// Demo data for `npm start`: rules, templates, a default contact policy, about 50 customers and a
// day of events, all generated from a fixed seed and published through the bus like any source
// system would. Rules and the policy are written through their repositories, as `baton` writes them.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../lib/contract/tables.ts';
import { checkRule, type RuleInput } from '../lib/core/rules/rule.ts';
import type { Template } from '../lib/core/channels/template.ts';
import { checkPolicy, type ContactPolicyInput } from '../lib/core/campaigns/policy.ts';
import { seededRandom as prng } from '../lib/core/seeded-random.ts';
import { DynamoRuleRepository } from '../lib/adapters/dynamo/rules.ts';
import { DynamoPolicyRepository } from '../lib/adapters/dynamo/campaigns.ts';
import { DynamoTemplateStore } from '../lib/adapters/dynamo/templates.ts';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { checkJourney } from '../lib/core/journeys/check.ts';
import { DynamoJourneyRepository } from '../lib/adapters/dynamo/journeys.ts';

export const DEMO_RULES: RuleInput[] = [
  {
    ruleId: 'renewal-30d-email',
    campaignId: 'renewals-2026',
    enabled: true,
    priority: 50,
    description: 'Gold and platinum customers whose licence runs out within 30 days get a renewal offer',
    when: { source: ['baton.erp'], 'detail-type': ['LicenseRenewalDue'], detail: { daysLeft: [{ numeric: ['<=', 30] }] } },
    if: { tier: ['gold', 'platinum'] },
    then: { channel: 'email', template: 'renewal-offer', offer: 'RENEW20' },
    setState: { renewalStage: 'offered' },
  },
  {
    ruleId: 'big-basket-thank-you',
    campaignId: 'loyalty-2026',
    enabled: true,
    priority: 40,
    description: 'A sale of 50 or more earns a thank-you email with an accessory voucher',
    when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { total: [{ numeric: ['>=', 50] }] } },
    then: { channel: 'email', template: 'thank-you-offer', offer: 'ACC10' },
  },
  {
    ruleId: 'expired-licence-call-list',
    campaignId: 'winback-2026',
    enabled: true,
    priority: 10,
    description: 'An expired licence puts the customer on the call-centre list',
    when: { source: ['baton.erp'], 'detail-type': ['LicenseExpired'] },
    then: { channel: 'bus', action: 'add-to-call-list', payload: { list: 'winback' } },
  },
];

export const DEMO_TEMPLATES: Template[] = [
  {
    templateId: 'renewal-offer',
    channel: 'email',
    locale: 'en',
    subject: '{{ customer.firstName | default: "Hello" }}, your protection ends soon',
    html: '<p>Hi {{ customer.firstName }},</p><p>Your licence ends in {{ customer.daysToNextLicenseExpiry }} days. Renew now with code <b>{{ offer }}</b> and save 20 %.</p><p><a href="https://example.com/renew?code={{ offer }}">Renew now</a></p><p><a href="{{ unsubscribeUrl }}">Unsubscribe</a></p>',
    text: 'Hi {{ customer.firstName }}, your licence ends in {{ customer.daysToNextLicenseExpiry }} days. Renew with code {{ offer }} and save 20 %. Unsubscribe: {{ unsubscribeUrl }}',
  },
  {
    templateId: 'renewal-offer',
    channel: 'email',
    locale: 'de',
    subject: '{{ customer.firstName | default: "Hallo" }}, Ihr Schutz läuft bald ab',
    html: '<p>Hallo {{ customer.firstName }},</p><p>Ihre Lizenz läuft in {{ customer.daysToNextLicenseExpiry }} Tagen ab. Mit dem Code <b>{{ offer }}</b> sparen Sie 20 %.</p><p><a href="https://example.com/de/verlaengern?code={{ offer }}">Jetzt verlängern</a></p><p><a href="{{ unsubscribeUrl }}">Abmelden</a></p>',
    text: 'Hallo {{ customer.firstName }}, Ihre Lizenz läuft in {{ customer.daysToNextLicenseExpiry }} Tagen ab. Code {{ offer }}: 20 % Rabatt. Abmelden: {{ unsubscribeUrl }}',
  },
  {
    templateId: 'thank-you-offer',
    channel: 'email',
    locale: 'en',
    subject: 'Thank you for your purchase, {{ customer.firstName | default: "friend" }}',
    html: '<p>Thank you, {{ customer.firstName }}!</p><p>Here is 10 % off your next accessory: <b>{{ offer }}</b>.</p><p><a href="https://example.com/accessories?code={{ offer }}">Shop accessories</a></p><p><a href="{{ unsubscribeUrl }}">Unsubscribe</a></p>',
    text: 'Thank you, {{ customer.firstName }}! Here is 10 % off your next accessory: {{ offer }}. Unsubscribe: {{ unsubscribeUrl }}',
  },
  {
    templateId: 'thank-you-offer',
    channel: 'email',
    locale: 'de',
    subject: 'Danke für Ihren Einkauf, {{ customer.firstName | default: "" }}',
    html: '<p>Danke, {{ customer.firstName }}!</p><p>10 % auf Ihr nächstes Zubehör: <b>{{ offer }}</b>.</p><p><a href="https://example.com/de/zubehoer?code={{ offer }}">Zubehör ansehen</a></p><p><a href="{{ unsubscribeUrl }}">Abmelden</a></p>',
    text: 'Danke, {{ customer.firstName }}! 10 % auf Ihr nächstes Zubehör: {{ offer }}. Abmelden: {{ unsubscribeUrl }}',
  },
];

/**
 * The contact policy every demo campaign follows (they name none, so `default`). Without it only
 * consent applies, and one customer whose events match a rule again and again gets a message each
 * time. Quiet hours hold SMS and push at night on the customer's clock; e-mail waits in the inbox.
 */
export const DEMO_POLICY: ContactPolicyInput = {
  policyId: 'default',
  description: 'Demo contact policy: at most 2 marketing e-mails a day and 5 a week, 1 SMS a day, 4 h between contacts, no SMS or push at night',
  caps: { email: { perDay: 2, perWeek: 5 }, sms: { perDay: 1, perWeek: 3 }, push: { perDay: 2, perWeek: 7 }, device: { perDay: 3, perWeek: 10 } },
  quietHours: { start: '21:00', end: '08:00', channels: ['sms', 'push'], defaultTimeZone: 'Europe/Berlin' },
  cooldownHours: 4,
};

/**
 * Rules, templates and the default policy. Rules and the policy are written only where none exists
 * yet, so with `--persist` the changes made since (a rule disabled, a policy tightened) stay.
 */
export async function seedRulesAndTemplates(db: DynamoDBDocumentClient, tables: TableNames, now = new Date()): Promise<void> {
  const templates = new DynamoTemplateStore(db, tables.templates);
  for (const t of DEMO_TEMPLATES) await templates.put(t);
  const rules = new DynamoRuleRepository(db, tables.rules, () => now);
  for (const input of DEMO_RULES) {
    const check = checkRule(input);
    if (!check.ok) throw new Error(`demo rule ${check.ruleId}: ${check.reason}`);
    await rules.put(check.rule, 'demo', { ifAbsent: true });
  }
  const policy = checkPolicy(DEMO_POLICY);
  if (!policy.ok) throw new Error(`demo policy: ${policy.reason}`);
  await new DynamoPolicyRepository(db, tables.campaigns, () => now).put(policy.policy, 'demo', { ifAbsent: true });
}

/** The renewal journey of docs/journeys.md, as marketers keep it. */
export const DEMO_JOURNEY_FILE = new URL('../examples/journeys/renewal.yaml', import.meta.url).pathname;

/** The templates the renewal journey sends: the reminder email, the threat alert and the reminder on the device. */
export const DEMO_JOURNEY_TEMPLATES: Template[] = [
  {
    templateId: 'renewal-reminder',
    channel: 'email',
    locale: 'en',
    subject: '{{ customer.firstName | default: "Hello" }}, time to renew your protection',
    html: '<p>Hi {{ customer.firstName }},</p><p>Your licence ends in {{ customer.daysToNextLicenseExpiry }} days.</p><p><a href="https://example.com/renew">Renew now</a></p><p><a href="{{ unsubscribeUrl }}">Unsubscribe</a></p>',
    text: 'Hi {{ customer.firstName }}, your licence ends in {{ customer.daysToNextLicenseExpiry }} days. Renew: https://example.com/renew Unsubscribe: {{ unsubscribeUrl }}',
  },
  { templateId: 'threat-alert', channel: 'device', locale: 'en', text: 'A threat was stopped on this device. Renew to stay protected.' },
  { templateId: 'renewal-on-device', channel: 'device', locale: 'en', text: 'Your protection ends soon: renew in the app.' },
];

/**
 * The renewal journey and its templates. The journey is written only where none exists yet (as the
 * rules), so with `--persist` a journey changed since (paused, a new version) stays as it is.
 */
export async function seedJourneys(db: DynamoDBDocumentClient, tables: TableNames, now = new Date()): Promise<void> {
  const templates = new DynamoTemplateStore(db, tables.templates);
  for (const t of DEMO_JOURNEY_TEMPLATES) await templates.put(t);
  const check = checkJourney(parseYaml(readFileSync(DEMO_JOURNEY_FILE, 'utf8')));
  if (!check.ok) throw new Error(`demo journey ${check.journeyId}: ${check.reason}`);
  const journeys = new DynamoJourneyRepository(db, tables.campaigns, () => now);
  if (!(await journeys.current(check.journey.journeyId))) await journeys.put(check.journey, 'demo');
}

const FIRST = ['Maria', 'Jonas', 'Aylin', 'Luca', 'Sofia', 'Noah', 'Emma', 'Finn', 'Lea', 'Mateo', 'Hannah', 'Elias', 'Mia', 'Paul', 'Lina'];
const LAST = ['Keller', 'Novak', 'Schmidt', 'Rossi', 'Yilmaz', 'Dubois', 'Jansen', 'Berg', 'Costa', 'Fischer'];
const TIERS = ['bronze', 'silver', 'gold', 'platinum'];

export interface DemoEvent {
  source: string;
  'detail-type': string;
  detail: Record<string, unknown>;
}

/** About 50 customers (CRM, consent, licence, device) and then a day of sales, renewals, device news. */
export function demoEvents(customers = 50, day = new Date(), seed = 2026): { setup: DemoEvent[]; dayEvents: DemoEvent[] } {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const at = (hour: number, minute = 0) => new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), hour, minute)).toISOString();
  const dayStart = at(0);
  const setup: DemoEvent[] = [];
  const dayEvents: DemoEvent[] = [];
  const addDays = (iso: string, days: number) => new Date(Date.parse(iso) + days * 86_400_000).toISOString();
  for (let i = 1; i <= customers; i++) {
    const n = String(i).padStart(4, '0');
    const ids = { crmId: `CRM-${n}`, loyaltyCard: `LC-${n}`, licenseId: `LIC-${n}`, deviceId: `dev-${n}` };
    const first = pick(FIRST);
    const last = pick(LAST);
    const german = rand() < 0.5;
    const tier = pick(TIERS);
    const occurredAt = addDays(dayStart, -200 - i);
    setup.push({
      source: 'baton.crm',
      'detail-type': 'CustomerUpserted',
      detail: {
        ids: { crmId: ids.crmId, loyaltyCard: ids.loyaltyCard },
        occurredAt,
        profile: {
          firstName: first,
          lastName: last,
          email: `${first}.${last}.${n}@example.com`.toLowerCase(),
          locale: german ? 'de-DE' : 'en',
          timeZone: german ? 'Europe/Berlin' : 'Europe/London',
          country: german ? 'DE' : 'GB',
          tier,
        },
      },
    });
    setup.push({
      source: 'baton.crm',
      'detail-type': 'ConsentChanged',
      detail: { ids: { crmId: ids.crmId }, occurredAt: addDays(occurredAt, 0.01), channel: 'email', granted: rand() < 0.85, via: 'web-form' },
    });
    const expiresAt = addDays(dayStart, Math.floor(rand() * 60) - 10);
    setup.push({
      source: 'baton.erp',
      'detail-type': 'LicensePurchased',
      detail: {
        ids: { crmId: ids.crmId, licenseId: ids.licenseId },
        occurredAt: addDays(expiresAt, -365),
        licenseId: ids.licenseId,
        product: pick(['total-security', 'internet-security', 'antivirus-plus']),
        seats: pick([1, 3, 5]),
        startsAt: addDays(expiresAt, -365),
        expiresAt,
        amount: pick([39.99, 59.99, 79.99]),
        currency: 'EUR',
      },
    });
    setup.push({
      source: 'baton.device',
      'detail-type': 'DeviceRegistered',
      detail: { ids: { licenseId: ids.licenseId, deviceId: ids.deviceId }, occurredAt: addDays(expiresAt, -364), deviceId: ids.deviceId, platform: pick(['windows', 'macos', 'android']), agentVersion: '24.6.1' },
    });
    // The day: renewals due, expiries, sales, device news.
    const daysLeft = Math.round((Date.parse(expiresAt) - Date.parse(dayStart)) / 86_400_000);
    if (daysLeft > 0 && daysLeft <= 45) {
      dayEvents.push({
        source: 'baton.erp',
        'detail-type': 'LicenseRenewalDue',
        detail: { ids: { licenseId: ids.licenseId }, occurredAt: at(6, i % 60), licenseId: ids.licenseId, product: 'total-security', expiresAt, daysLeft },
      });
    } else if (daysLeft <= 0) {
      dayEvents.push({
        source: 'baton.erp',
        'detail-type': 'LicenseExpired',
        detail: { ids: { licenseId: ids.licenseId }, occurredAt: at(0, i % 60), licenseId: ids.licenseId, product: 'total-security', expiredAt: expiresAt },
      });
    }
    const sales = Math.floor(rand() * 3);
    for (let s = 0; s < sales; s++) {
      const items = [{ sku: pick(['TS-5-1Y', 'USB-C-64', 'CASE-01', 'VPN-1Y']), category: pick(['security-software', 'accessories']), quantity: 1 + Math.floor(rand() * 2), unitPrice: pick([12.5, 24.99, 49.99, 79.99]) }];
      const total = Math.round(items.reduce((sum, it) => sum + it.quantity * it.unitPrice, 0) * 100) / 100;
      dayEvents.push({
        source: 'baton.pos',
        'detail-type': 'SaleCompleted',
        detail: { ids: { loyaltyCard: ids.loyaltyCard }, occurredAt: at(9 + s * 3, i % 60), saleId: `S-${n}-${s}`, storeId: pick(['berlin-mitte-0042', 'london-soho-0007']), items, total, currency: 'EUR' },
      });
    }
    dayEvents.push({
      source: 'baton.device',
      'detail-type': 'DeviceStatusReported',
      detail: { ids: { deviceId: ids.deviceId }, occurredAt: at(7, i % 60), deviceId: ids.deviceId, status: pick(['protected', 'protected', 'at-risk']), agentVersion: '24.6.1' },
    });
    if (rand() < 0.15) {
      dayEvents.push({
        source: 'baton.device',
        'detail-type': 'ThreatDetected',
        detail: { ids: { deviceId: ids.deviceId }, occurredAt: at(13, i % 60), deviceId: ids.deviceId, threatId: `THR-${n}`, threatName: 'Trojan.GenericKD.4711', severity: pick(['medium', 'high']), action: 'quarantined' },
      });
    }
  }
  // Source systems make mistakes too: these two end in quarantine with their reasons.
  dayEvents.push({ source: 'baton.pos', 'detail-type': 'SaleCompleted', detail: { ids: { loyaltyCard: 'LC-0001' }, occurredAt: at(12), saleId: 'S-bad', storeId: 'x', items: [], total: -1, currency: 'euro' } });
  dayEvents.push({ source: 'baton.crm', 'detail-type': 'CustomerMoved', detail: { ids: { crmId: 'CRM-0002' }, occurredAt: at(12) } });
  dayEvents.sort((a, b) => String(a.detail.occurredAt).localeCompare(String(b.detail.occurredAt)));
  return { setup, dayEvents };
}
