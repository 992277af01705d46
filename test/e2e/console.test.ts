// The console end to end in a real headless Chromium on the local stack (the suite's own): a
// marketer creates a rule from a template, sees a validation error, fixes it, tests it against a
// customer and submits it; an approver accepts it; an event then produces the message, shown on
// the customer's page with its explanation. axe-core checks every page (no serious or critical
// violations); screenshots go to .baton/screenshots/ (gitignored) for docs/console.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DynamoTemplateStore } from '../../lib/adapters/dynamo/templates.ts';
import { DynamoJourneyRepository } from '../../lib/adapters/dynamo/journeys.ts';
import { DynamoQuarantine } from '../../lib/adapters/dynamo/quarantine.ts';
import { DynamoSegmentRepository } from '../../lib/adapters/dynamo/segments.ts';
import { checkJourney } from '../../lib/core/journeys/check.ts';
import { DEMO_TEMPLATES } from '../../local/demo.ts';
import { busClient, db, endpoints, eventually, profileByExternalId, rulesRefreshed, tables, unique } from '../support/local.ts';

const SCREENSHOTS = join(import.meta.dirname, '..', '..', '.baton', 'screenshots');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** BATON_CHROMIUM, else `chromium` on the PATH, else Debian's path. No browser fails the test: it never skips. */
function chromiumPath(): string {
  const given = process.env.BATON_CHROMIUM;
  if (given) {
    if (!existsSync(given)) throw new Error(`BATON_CHROMIUM is ${given}, which does not exist`);
    return given;
  }
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
    throw new Error('no Chromium found for the console test: install Debian\'s chromium package (apt-get install chromium) or set BATON_CHROMIUM to a Chromium binary');
  }
}

let browser: Browser;
let page: Page;
const send = async (source: string, detailType: string, detail: unknown) =>
  busClient().send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'baton' }] }));

/** axe-core in the page: serious and critical violations, by rule and the elements they were found on. */
async function accessibilityProblems(name: string): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) }));
  });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${name}: ${v.id} (${v.impact}) at ${v.targets.join(', ')}`);
}

async function signIn(user: 'viewer' | 'marketer' | 'approver' | 'admin'): Promise<void> {
  await page.goto(`${endpoints().bus}/console#/overview`);
  const signOut = page.getByRole('button', { name: 'Sign out' });
  if (await signOut.isVisible().catch(() => false)) await signOut.click();
  await page.getByLabel('Demo user').selectOption(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`(${user})`).waitFor();
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const store = new DynamoTemplateStore(db(), tables().templates);
  for (const t of DEMO_TEMPLATES) await store.put(t);
});
afterAll(async () => browser?.close());

describe('the console in a browser', () => {
  it('takes a rule from a template to a message on the customer\'s page, through four eyes, with every page accessible', async () => {
    const problems: string[] = [];
    // A consenting customer; a store only this test's rule listens to, so no other test's rule competes.
    const crmId = unique('CRM-console');
    const card = unique('LC-console');
    const store = unique('store-console');
    const ruleId = unique('console-thanks');
    const at = new Date(Date.now() - 60_000).toISOString();
    await send('baton.crm', 'CustomerUpserted', { ids: { crmId, loyaltyCard: card }, occurredAt: at, profile: { firstName: 'Maria', email: `${crmId}@example.com`, locale: 'en', timeZone: 'UTC' } });
    await send('baton.crm', 'ConsentChanged', { ids: { crmId }, occurredAt: at, channel: 'email', granted: true, via: 'web-form' });
    const profile = await eventually('the customer with consent', async () => {
      const p = await profileByExternalId('loyaltyCard', card);
      return p && JSON.stringify(p.state).includes('web-form') ? p : undefined;
    });
    const customerId = String(profile.customerId);

    // The marketer: overview, then a rule from a template.
    await signIn('marketer');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    problems.push(...(await accessibilityProblems('overview')));
    await page.getByRole('link', { name: 'Rules' }).click();
    await page.getByRole('heading', { name: 'Rules' }).waitFor();
    problems.push(...(await accessibilityProblems('rules')));
    await page.getByLabel('Template').selectOption('Thank-you email after a sale');
    await page.getByRole('button', { name: 'New rule from template' }).click();
    const editor = page.getByLabel('Rule (JSON)');
    const rule = JSON.parse(await editor.inputValue()) as Record<string, any>;
    rule.ruleId = ruleId;
    rule.when.detail = { storeId: [store] };

    // A channel that does not exist: the server's own check names the field.
    await editor.fill(JSON.stringify({ ...rule, then: { ...rule.then, channel: 'fax' } }, null, 2));
    await page.getByRole('list', { name: 'Validation problems' }).getByText(/then\.channel/).waitFor();
    problems.push(...(await accessibilityProblems('rule-editor-invalid')));
    await editor.fill(JSON.stringify(rule, null, 2));
    await page.getByText('Valid: the same checks as baton rules validate.').waitFor();

    // The dry run against the customer, by their loyalty card.
    await page.getByLabel('Sample event').selectOption('baton.pos/SaleCompleted');
    const eventBox = page.getByLabel('Event (JSON)');
    await page.waitForFunction(() => {
      const box = (globalThis as unknown as { document: { querySelector(s: string): { value: string } | null } }).document.querySelector('#event-text');
      return box?.value.includes('SaleCompleted');
    });
    const sample = JSON.parse(await eventBox.inputValue()) as { detail: Record<string, unknown> };
    await eventBox.fill(JSON.stringify({ ...sample, detail: { ...sample.detail, storeId: store } }, null, 2));
    await page.getByLabel('Customer (any external id, optional)').fill(card);
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    const result = page.getByRole('status').filter({ hasText: 'baton.pos/SaleCompleted' });
    await result.getByText(`for ${customerId}: would send a message`).waitFor();
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.getByText(/Submitted change .*: waiting for an approver\./).waitFor();
    problems.push(...(await accessibilityProblems('rule-editor-tested')));

    // Not live until an approver who is not the author accepts it.
    await signIn('approver');
    await page.getByRole('link', { name: 'Changes' }).click();
    await page.getByRole('button', { name: `Approve put of ${ruleId}` }).click();
    await page.getByText(/approved: rule version 1 is live/).waitFor();
    problems.push(...(await accessibilityProblems('changes')));
    await page.goto(`${endpoints().bus}/console#/rules/${ruleId}`);
    await page.getByRole('heading', { name: `Rule ${ruleId}` }).waitFor();
    await page.getByText('mia.marketer (approved by ada.approver)').first().waitFor();
    problems.push(...(await accessibilityProblems('rule')));

    // An event for the customer at that store: the rule sends the email.
    await rulesRefreshed();
    await send('baton.pos', 'SaleCompleted', {
      ids: { loyaltyCard: card },
      occurredAt: new Date().toISOString(),
      saleId: unique('S'),
      storeId: store,
      items: [{ sku: 'TS-5-1Y', category: 'security-software', quantity: 1, unitPrice: 20 }],
      total: 20,
      currency: 'EUR',
    });
    await eventually('the email from the console\'s rule', async () => {
      const res = (await (await fetch(`${endpoints().bus}/local/messages?customer=${customerId}`)).json()) as { messages: { ruleId?: string }[] };
      return res.messages.find((m) => m.ruleId === ruleId);
    });

    // The customer's page: the decision with its explanation, and the email as sent.
    await page.getByRole('link', { name: 'Customers' }).click();
    await page.getByLabel('External id or customerId').fill(card);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: customerId }).click();
    const decision = page.getByRole('region', { name: 'decision on baton.pos/SaleCompleted' });
    await decision.getByText(new RegExp(`chosen ${ruleId} \\(email\\)`)).waitFor();
    await decision.getByText(/Messages: email/).waitFor();
    // The email as the customer sees it, rendered inside the sandboxed frame (not a blank box).
    await page.frameLocator('iframe[sandbox]').first().getByText(/Thank you, Maria!/).waitFor();
    problems.push(...(await accessibilityProblems('customer')));

    for (const [link, heading, name] of [['Messages', 'Messages', 'messages'], ['Quarantine', 'Quarantine', 'quarantine'], ['Audit', 'Audit', 'audit']] as const) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      problems.push(...(await accessibilityProblems(name)));
    }
    await page.getByRole('row').filter({ hasText: ruleId }).first().waitFor();
    expect(problems).toEqual([]);
  });

  it('draws a journey with its customers, pauses and resumes it; shows segments, runs and reports; an admin replays and erases', async () => {
    const problems: string[] = [];
    // A journey of this test's own, paused, entered only by licences of this test: it competes with nothing.
    const journeyId = unique('console-journey');
    const licence = unique('LIC-console');
    const journey = checkJourney({
      journeyId,
      campaignId: 'renewals',
      status: 'paused',
      entry: { event: { source: ['baton.erp'], 'detail-type': ['LicenseRenewalDue'], detail: { licenseId: [licence] } } },
      goal: { event: { source: ['baton.erp'], 'detail-type': ['LicenseRenewed'] } },
      steps: [
        { id: 'wait-a-week', type: 'wait', duration: { days: 7 } },
        { id: 'reminder', type: 'send', channel: 'email', template: 'renewal-reminder' },
        { id: 'done', type: 'exit' },
      ],
    });
    if (!journey.ok) throw new Error(journey.reason);
    await new DynamoJourneyRepository(db(), tables().campaigns).put(journey.journey, 'test');
    // A disabled segment of its own: listed and shown, evaluated for nobody.
    const segmentId = unique('console-segment');
    await new DynamoSegmentRepository(db(), tables().rules).put({ segmentId, kind: 'dynamic', enabled: false, description: 'Gold members', if: { tier: ['gold'] } }, 'test');

    await signIn('marketer');
    await page.getByRole('link', { name: 'Journeys' }).click();
    await page.getByRole('heading', { name: 'Journeys', exact: true }).waitFor();
    problems.push(...(await accessibilityProblems('journeys')));
    await page.getByRole('link', { name: journeyId }).click();
    await page.getByRole('heading', { name: `Journey ${journeyId}` }).waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByText(new RegExp(`Journey ${journeyId} is active \\(version 2\\)`)).waitFor();

    // A customer enters (the licence's renewal is due) and waits in the first step: the graph counts them.
    const due = new Date(Date.now() + 30 * 86_400_000).toISOString();
    await send('baton.erp', 'LicenseRenewalDue', { ids: { licenseId: licence }, occurredAt: new Date().toISOString(), licenseId: licence, product: 'total-security', expiresAt: due, daysLeft: 30 });
    await eventually('the customer waiting in the journey', async () => {
      await page.reload();
      await page.getByRole('heading', { name: `Journey ${journeyId}` }).waitFor();
      const label = await page.getByRole('img', { name: /^Step graph:/ }).getAttribute('aria-label');
      return label?.includes('wait-a-week (wait): 1 waiting') ? true : undefined;
    });
    problems.push(...(await accessibilityProblems('journey')));
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByText(new RegExp(`Journey ${journeyId} is paused \\(version 3\\)`)).waitFor();
    expect((await new DynamoJourneyRepository(db(), tables().campaigns).current(journeyId))?.content.status).toBe('paused');

    await page.getByRole('link', { name: 'Segments' }).click();
    await page.getByRole('heading', { name: 'Segments and runs' }).waitFor();
    await page.getByRole('link', { name: segmentId }).first().waitFor();
    await page.getByRole('heading', { name: 'Runs', exact: true }).waitFor();
    problems.push(...(await accessibilityProblems('segments')));
    await page.getByRole('link', { name: segmentId }).first().click();
    await page.getByRole('heading', { name: 'Size over time' }).waitFor();
    problems.push(...(await accessibilityProblems('segment')));

    await page.getByRole('link', { name: 'Reports' }).click();
    await page.getByLabel('Report').selectOption('channel');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByRole('status').filter({ hasText: /^channel, / }).waitFor();
    problems.push(...(await accessibilityProblems('reports')));
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^baton-report-channel-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);

    // The admin: replay an event that passes now, then erase the customer it made.
    const crmId = unique('CRM-console-erase');
    const quarantineId = unique('q-console');
    const now = new Date().toISOString();
    await new DynamoQuarantine(db(), tables().quarantine).put({
      quarantineId,
      receivedAt: now,
      code: 'unknown-detail-type',
      reason: 'was not in the catalog then',
      body: JSON.stringify({ version: '0', id: unique('evt'), source: 'baton.crm', 'detail-type': 'CustomerUpserted', time: now, account: '0', region: 'local', resources: [], detail: { ids: { crmId }, occurredAt: now, profile: { firstName: 'Rita' } } }),
    });
    await signIn('admin');
    await page.getByRole('link', { name: 'Quarantine' }).click();
    await page.getByRole('button', { name: `Replay ${quarantineId}` }).click();
    await page.getByText(`Replayed ${quarantineId}: processed and removed from the quarantine.`).waitFor();
    problems.push(...(await accessibilityProblems('quarantine-replay')));
    const profile = await eventually('the replayed customer', () => profileByExternalId('crmId', crmId));
    const customerId = String(profile.customerId);

    await page.goto(`${endpoints().bus}/console#/customers/${customerId}`);
    await page.getByRole('heading', { name: `Customer ${customerId}` }).waitFor();
    await page.getByRole('button', { name: 'Erase this customer…' }).click();
    const dialog = page.getByRole('dialog', { name: `Erase customer ${customerId}?` });
    await dialog.waitFor();
    const confirm = dialog.getByRole('button', { name: `Erase ${customerId}` });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Customer id to erase').fill(customerId);
    problems.push(...(await accessibilityProblems('customer-erasure')));
    await confirm.click();
    await page.getByText(new RegExp(`Erasure of ${customerId} requested`)).waitFor();
    await eventually('the customer erased', async () => ((await profileByExternalId('crmId', crmId)) ? undefined : true));
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('row').filter({ hasText: `customer ${customerId}` }).filter({ hasText: 'erasure-requested' }).waitFor();
    expect(problems).toEqual([]);
  });
});
