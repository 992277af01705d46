// `npm run tour`: a new user's first half hour, run for them against the local stack. It sends a
// customer from the CRM, writes a template and a rule, sends a sale that triggers the rule, waits
// for the mail in the local SES, simulates a click and an unsubscribe, looks the customer up by
// e-mail and explains the decision, printing every `baton` command it runs and what it answered.
// Against a running `npm start` (the ports in BATON_BUS_PORT, BATON_DYNAMODB_PORT, BATON_SES_PORT);
// with none running it starts an empty stack of its own and stops it at the end.
//   npm run tour                  npm run tour -- --stage test   (a stack whose tables have another stage)
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DEFAULT_PORTS } from './constants.ts';
import type { LocalStack } from './stack.ts';

const { values } = parseArgs({ options: { stage: { type: 'string' } } });
const ROOT = join(import.meta.dirname, '..');
const port = (name: string, fallback: number) => Number(process.env[name] || fallback);
let ports = { bus: port('BATON_BUS_PORT', DEFAULT_PORTS.bus), dynamodb: port('BATON_DYNAMODB_PORT', DEFAULT_PORTS.dynamodb), ses: port('BATON_SES_PORT', DEFAULT_PORTS.ses) };
const url = (p: number) => `http://127.0.0.1:${p}`;

/** Everything the tour writes has this suffix, so it can run again next to the demo and itself. */
const run = randomUUID().slice(0, 6);
const crmId = `CRM-TOUR-${run}`;
const email = `Tess.Tour-${run}@Example.com`; // as the CRM wrote it; found however it is typed
const ruleId = `tour-welcome-${run}`;
const templateId = `tour-welcome-${run}`;
const storeId = `tour-store-${run}`;
const work = mkdtempSync(join(tmpdir(), 'baton-tour-'));

interface Answer {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `baton` as the user would; `show` prints the command and its answer. */
function baton(args: string[], show = true): Promise<Answer> {
  const stage = values.stage ? ['--stage', values.stage] : [];
  if (show) console.log(`\n$ npx baton ${args.map((a) => (a.startsWith(work) ? a.slice(work.length + 1) : a)).join(' ')}`);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/baton.js'), ...args, ...stage],
      { cwd: work, timeout: 120_000, env: { ...process.env, NO_COLOR: '1', BATON_BUS_PORT: String(ports.bus), BATON_DYNAMODB_PORT: String(ports.dynamodb) } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        const answer = { code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr };
        if (show) for (const line of `${stdout}${stderr}`.trimEnd().split('\n')) console.log(`  ${line}`);
        resolve(answer);
      },
    );
  });
}

/** `baton` that must succeed: the tour stops with its answer otherwise. */
async function must(args: string[], show = true): Promise<Answer> {
  const answer = await baton(args, show);
  if (answer.code !== 0) throw new Error(`baton ${args[0]} ${args[1] ?? ''} exited ${answer.code}: ${answer.stderr.trim() || answer.stdout.trim()}`);
  return answer;
}

/** Polls until `probe` gives a value; a slow machine only makes it wait longer, up to `ms`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const file = (name: string, value: unknown) => {
  const path = join(work, name);
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
};
const show = (path: string, text: string) => console.log(`\n# ${path.slice(work.length + 1)}\n${text.trimEnd().replace(/^/gm, '  ')}`);
const step = (n: number, title: string) => console.log(`\n━━ ${n}. ${title}`);

interface Shown {
  view: { unsubscribes?: number; clicks?: number };
  consent: Record<string, { granted: boolean; via: string | null }>;
  decisions: { decisionId: string; candidates: { ruleId: string; outcome: string }[]; messages: { status: string; clickedAt?: string }[] }[];
}
const customer = async (): Promise<Shown | undefined> => {
  const answer = await baton(['customer', 'show', crmId, '--json', '--limit', '20'], false);
  return answer.code === 0 ? (JSON.parse(answer.stdout) as Shown) : undefined;
};

async function reachable(): Promise<boolean> {
  try {
    return (await fetch(`${url(ports.bus)}/local/stats`)).ok;
  } catch {
    return false;
  }
}

async function tour(): Promise<void> {
  step(1, 'The stack');
  let own: LocalStack | undefined;
  if (!(await reachable())) {
    console.log(`no local stack at ${url(ports.bus)}: starting an empty one for the tour (npm start does the same, with the demo)`);
    const { startLocalStack } = await import('./stack.ts');
    own = await startLocalStack({ busPort: ports.bus, dynamodbPort: ports.dynamodb, sesPort: ports.ses, ...(values.stage ? { stage: values.stage } : {}) });
    ports = { bus: Number(new URL(own.endpoints.bus).port), dynamodb: Number(new URL(own.endpoints.dynamodb).port), ses: Number(new URL(own.endpoints.ses).port) };
  }
  try {
    console.log(`bus and decision API ${url(ports.bus)} · DynamoDB ${url(ports.dynamodb)} · sent mail ${url(ports.ses)}/`);
    await walk();
  } finally {
    await own?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function walk(): Promise<void> {
  step(2, 'Send events: the CRM announces a customer and her e-mail consent');
  const now = () => new Date().toISOString();
  const crm = file('customer.json', [
    { source: 'baton.crm', 'detail-type': 'CustomerUpserted', detail: { ids: { crmId }, occurredAt: now(), profile: { firstName: 'Tess', lastName: 'Tour', email, locale: 'en', tier: 'gold' } } },
    { source: 'baton.crm', 'detail-type': 'ConsentChanged', detail: { ids: { crmId }, occurredAt: now(), channel: 'email', granted: true, via: 'web-form' } },
  ]);
  show(crm, readFileSync(crm, 'utf8'));
  await must(['send', crm]);
  await until('the customer profile', async () => ((await customer())?.consent.email?.granted ? true : undefined));
  console.log(`  (applied: ingest resolved ${crmId} and the address to one profile)`);

  step(3, 'Write a template and a rule');
  const template = file('template.json', {
    templateId,
    channel: 'email',
    locale: 'en',
    subject: 'Welcome, {{ customer.firstName }}',
    html: "<p>Hi {{ customer.firstName }}, here is {{ offer }} off your next visit.</p><p><a href='https://example.com/welcome'>See the offer</a></p><p><a href='{{ unsubscribeUrl }}'>Unsubscribe</a></p>",
    text: 'Hi {{ customer.firstName }}, here is {{ offer }} off your next visit. Unsubscribe: {{ unsubscribeUrl }}',
  });
  show(template, readFileSync(template, 'utf8'));
  await must(['templates', 'put', template]);
  const rule = file('rule.json', {
    ruleId,
    campaignId: 'tour',
    enabled: true,
    priority: 10,
    description: 'A sale in the tour store earns a welcome offer by e-mail',
    when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [storeId] } },
    then: { channel: 'email', template: templateId, offer: 'WELCOME10' },
  });
  show(rule, readFileSync(rule, 'utf8'));
  await must(['rules', 'validate', rule]);
  await must(['rules', 'put', rule, '--by', 'tour']);
  const sale = (n: number) =>
    file('sale.json', {
      source: 'baton.pos',
      'detail-type': 'SaleCompleted',
      detail: { ids: { crmId }, occurredAt: now(), saleId: `S-${run}-${n}`, storeId, items: [{ sku: 'CASE-01', category: 'accessories', quantity: 1, unitPrice: 19.99 }], total: 19.99, currency: 'EUR' },
    });
  await must(['rules', 'test', rule, '--events', sale(0)]);

  step(4, 'A sale triggers the rule; watch the message arrive in the local SES');
  console.log('  (running functions re-read the rules table every 10 s, so a new rule is live within 20 s;');
  console.log('   until then the sale is decided without it, and the tour sends another one)');
  let decided: Shown['decisions'][number] | undefined;
  for (let n = 1; !decided; n++) {
    if (n > 60) throw new Error('no decision by the tour rule after 60 sales: is the rule enabled (baton rules list)?');
    await must(['send', sale(n)], n === 1);
    await new Promise((r) => setTimeout(r, 1_000));
    // The decision that chose the tour rule; null once the stack is idle without one.
    const found = await until('the sale decided', async () => {
      const d = (await customer())?.decisions.find((x) => x.candidates.some((k) => k.ruleId === ruleId && k.outcome === 'chosen'));
      return d ?? ((await settled()) ? null : undefined);
    });
    decided = found ?? undefined;
    if (!decided && n === 1) console.log('  (not live yet; sending the sale again every few seconds)');
    if (!decided) await new Promise((r) => setTimeout(r, 2_000));
  }
  const decisionId = decided.decisionId;
  const mail = await until('the mail in the local SES', async () => {
    const store = (await (await fetch(`${url(ports.ses)}/store`)).json()) as { emails: { subject: string; destination: { to: string[] } }[] };
    return store.emails.find((e) => e.destination.to.some((to) => to.toLowerCase() === email.toLowerCase()));
  });
  console.log(`\n  decision ${decisionId}: mail "${mail.subject}" to ${mail.destination.to.join(', ')}; read it at ${url(ports.ses)}/`);

  step(5, 'The customer clicks the link, then unsubscribes');
  await must(['simulate', decisionId, 'clicked']);
  await must(['simulate', decisionId, 'unsubscribed']);
  await until('the click and the unsubscribe applied', async () => {
    const c = await customer();
    return c?.consent.email?.via === 'unsubscribe-link' && (c.view.unsubscribes ?? 0) > 0 && (c.view.clicks ?? 0) > 0 ? true : undefined;
  });

  step(6, 'Look the customer up by e-mail, typed any way');
  await must(['customer', 'show', email.toLowerCase()]);

  step(7, 'Explain the decision');
  await must(['explain', decisionId]);

  step(8, 'Tidy up: the tour rule off again');
  await must(['rules', 'disable', ruleId, '--by', 'tour']);
  console.log('\ntour done. Next: docs/tour.md says what each step showed; docs/rules.md is the rule language.');
}

/** True when the stack has nothing in flight, so an event sent before now has been decided. */
async function settled(): Promise<boolean> {
  const s = (await (await fetch(`${url(ports.bus)}/local/stats`)).json()) as { queue: { depth: number }; dispatch: { idle?: boolean } };
  return s.queue.depth === 0 && s.dispatch.idle === true;
}


tour().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`\ntour stopped: ${(err as Error).message}`);
    process.exit(1);
  },
);
