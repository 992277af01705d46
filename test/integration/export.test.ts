// The analytical export on the local stack: a known mix of decisions, messages, feedback (with an
// unsubscribe through the link's ConsentChanged), ledger entries and profile changes goes through
// the stack's export consumers into Parquet; read back with hyparquet and DuckDB (an independent
// reader), the rows and columns are as expected and hold no personal data; after the customer's
// erasure (a CustomerErased through the bus, the real erasure path) their rows can no longer be
// linked to them and their exposures in the aggregates are gone, while the others' stay.
// The export is off in the suite's shared stack (its streams and pollers slow every test): this
// file starts a stack of its own with it on.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { BatchWriteCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createHash, createHmac } from 'node:crypto';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { DuckDBInstance } from '@duckdb/node-api';
import { decisionItems, DynamoDecisionStore } from '../../lib/adapters/dynamo/decisions.ts';
import { DynamoPseudonyms } from '../../lib/adapters/dynamo/pseudonyms.ts';
import { createFeedback } from '../../lib/app/feedback.ts';
import { EXPORT_COLUMNS } from '../../lib/core/reports/export.ts';
import type { Decision } from '../../lib/core/decide.ts';
import type { BatonEvent } from '../../events/catalog.ts';
import { LOCAL_CREDENTIALS, LOCAL_EXPORT_SECRET, LOCAL_REGION } from '../../local/constants.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { endpoints, eventually, unique } from '../support/local.ts';

let stack: LocalStack;
let folder: string;
let bus: EventBridgeClient;
let dynamo: ReturnType<typeof documentClient>;
const exportDir = () => folder;
const tables = () => stack.tables;
const db = () => dynamo;
// This stack's own progress is what the waits go by (eventually() watches the shared stack's).
const patience = { quietMs: 120_000, maxMs: 200_000 };

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'baton-export-test-'));
  stack = await startLocalStack({ busPort: 0, dynamodbEndpoint: endpoints().dynamodb, sesPort: 0, stage: 'export', export: { dir: folder } });
  bus = new EventBridgeClient({ endpoint: stack.endpoints.bus, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  dynamo = documentClient({ endpoint: stack.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}, 300_000);
afterAll(async () => {
  bus?.destroy();
  dynamo?.destroy();
  await stack?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

async function profileByExternalId(kind: string, value: string): Promise<Record<string, unknown> | undefined> {
  const link = await db().send(new GetCommand({ TableName: tables().customers, Key: { pk: `ID#${kind}#${value}`, sk: 'ID' } }));
  if (!link.Item) return undefined;
  return (await db().send(new GetCommand({ TableName: tables().customers, Key: { pk: `CUS#${link.Item.customerId}`, sk: 'PROFILE' }, ConsistentRead: true }))).Item;
}

const campaignId = unique('export-camp');
const now = () => new Date().toISOString();
const send = async (source: string, type: string, detail: object) => {
  const out = await bus.send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: type, Detail: JSON.stringify(detail), EventBusName: 'baton' }] }));
  expect(out.FailedEntryCount).toBe(0);
};

async function files(kind: string): Promise<string[]> {
  const root = join(exportDir(), `kind=${kind}`);
  const days = await readdir(root).catch(() => [] as string[]);
  const out: string[] = [];
  for (const d of days) for (const f of await readdir(join(root, d))) if (f.endsWith('.parquet')) out.push(join(root, d, f));
  return out;
}

/** Every row of a kind, with its file's columns (hyparquet). */
async function rows(kind: string): Promise<{ rows: Record<string, unknown>[]; columns: string[][] }> {
  const all: Record<string, unknown>[] = [];
  const columns: string[][] = [];
  for (const f of await files(kind)) {
    const file = await asyncBufferFromFile(f);
    const metadata = await parquetMetadataAsync(file);
    columns.push(parquetSchema(metadata).children.map((c) => c.element.name));
    all.push(...(await parquetReadObjects({ file })));
  }
  return { rows: all, columns };
}

function decision(n: number, customerId: string, outcome: 'chosen' | 'holdout'): Decision {
  const decisionId = `${campaignId}-d${n}`;
  return {
    decisionId,
    customerId,
    eventId: `${decisionId}-e`,
    eventType: 'baton.pos/SaleCompleted',
    at: '2026-11-02T10:00:00.000Z',
    candidates: [{ ruleId: `${campaignId}-r`, campaignId, priority: 1, campaignPriority: 1, channel: 'email', outcome, reason: outcome }],
    messages: outcome === 'chosen' ? [{ decisionId, customerId, ruleId: `${campaignId}-r`, campaignId, channel: 'email', template: 'spring', offer: 'spring-10', transactional: false }] : [],
    setState: {},
  };
}

describe('the analytical export', () => {
  it('writes pseudonymised Parquet per kind and day, and an erased customer can no longer be linked to theirs', async () => {
    const client = db();
    const names = tables();
    // Three customers known to the CRM (their profile changes are exported as states).
    const people = ['erased', 'kept', 'other'].map((who) => ({ who, crmId: unique(`EXP-${who}`), email: `${unique(who).toLowerCase()}@example.com` }));
    for (const p of people) await send('baton.crm', 'CustomerUpserted', { ids: { crmId: p.crmId }, occurredAt: now(), profile: { firstName: `Name${p.who}`, email: p.email } });
    const ids = await Promise.all(people.map((p) => eventually('the profile', async () => (await profileByExternalId('crmId', p.crmId))?.customerId as string | undefined, patience)));
    const [erased, kept, other] = ids as [string, string, string];

    // Decisions as decide-and-commit writes them (messages already sent), for the three.
    const decisions = [decision(0, erased, 'chosen'), decision(1, kept, 'chosen'), decision(2, other, 'holdout')];
    const items = decisions.flatMap((d) => decisionItems(d, new Date())).map((i) => (String(i.sk).startsWith('MSG#') ? { ...i, status: 'sent' } : i));
    await client.send(new BatchWriteCommand({ RequestItems: { [names.decisions]: items.map((Item) => ({ PutRequest: { Item } })) } }));
    // Feedback through the feedback use case: deliveries, an open, and kept's unsubscribe through the link.
    const feedback = createFeedback({ outbox: new DynamoDecisionStore(client, names.decisions) });
    const outbox = new DynamoDecisionStore(client, names.decisions);
    for (const n of [0, 1]) await outbox.recordFeedback({ decisionId: `${campaignId}-d${n}`, channel: 'email', field: 'deliveredAt', at: '2026-11-02T11:00:00.000Z' });
    await outbox.recordFeedback({ decisionId: `${campaignId}-d0`, channel: 'email', field: 'openedAt', at: '2026-11-03T09:00:00.000Z' });
    await feedback({
      id: unique('unsub'), source: 'baton.crm', 'detail-type': 'ConsentChanged', time: '2026-11-02T12:00:00.000Z',
      detail: { ids: { crmId: people[1]!.crmId }, occurredAt: '2026-11-02T12:00:00.000Z', channel: 'email', granted: false, via: 'unsubscribe-link', decisionId: `${campaignId}-d1` },
    } as unknown as BatonEvent);
    // Ledger entries as the loyalty ledger appends them (lib/adapters/dynamo/loyalty.ts).
    const programmeId = unique('prog');
    await client.send(new BatchWriteCommand({
      RequestItems: {
        [names.ledger]: [erased, kept].map((c, n) => ({
          PutRequest: { Item: { pk: `MEMBER#${programmeId}#${c}`, sk: `E#2026-11-02T10:00:00.000Z#tx${n}#0`, entry: { kind: 'earn', txId: `tx-${c}`, at: '2026-11-02T10:00:00.000Z', points: 10 + n, ruleId: 'base' } } },
        })),
      },
    }));

    const pseudonyms = new DynamoPseudonyms(client, names.aggregates, LOCAL_EXPORT_SECRET);
    const pseudonymOf = async (c: string) => (await pseudonyms.of(c))?.(`customer\u0000${c}`);
    const [pErased, pKept, pOther] = [await pseudonymOf(erased), await pseudonymOf(kept), await pseudonymOf(other)];
    const ours = (r: Record<string, unknown>) => r.campaign_id === campaignId;
    const exported = await eventually('every kind exported', async () => {
      const [d, m, f, l, s] = await Promise.all(['decisions', 'messages', 'feedback', 'ledger', 'states'].map(rows));
      const fb = f!.rows.filter(ours);
      const ledger = l!.rows.filter((r) => r.programme_id === programmeId);
      return d!.rows.filter(ours).length === 3 && fb.length === 4 && ledger.length === 2 && s!.rows.some((r) => r.customer === pOther)
        ? { d: d!, m: m!, f: f!, l: l!, s: s! } : undefined;
    }, patience);

    // The columns are exactly the documented ones, in every file, and none is personal.
    for (const [kind, set] of Object.entries({ decisions: exported.d, messages: exported.m, feedback: exported.f, ledger: exported.l, states: exported.s })) {
      for (const cols of set.columns) expect(cols, kind).toEqual(Object.keys(EXPORT_COLUMNS[kind as keyof typeof EXPORT_COLUMNS]));
    }
    expect(exported.d.rows.filter(ours).map((r) => [r.customer, r.outcome]).sort()).toEqual([[pErased, 'chosen'], [pKept, 'chosen'], [pOther, 'holdout']].sort());
    expect(exported.f.rows.filter(ours).map((r) => [r.customer, r.feedback, r.sent_day]).sort()).toEqual(
      [[pErased, 'delivered', '2026-11-02'], [pErased, 'opened', '2026-11-02'], [pKept, 'delivered', '2026-11-02'], [pKept, 'unsubscribed', '2026-11-02']].sort(),
    );
    expect(exported.l.rows.filter((r) => r.programme_id === programmeId).map((r) => [r.customer, r.entry_kind, r.points]).sort()).toEqual([[pErased, 'earn', 10n], [pKept, 'earn', 11n]].sort());
    const state = exported.s.rows.find((r) => r.customer === pOther)!;
    expect(state.changed).toContain('profile');
    // No value anywhere is a customer id, an external id, an e-mail address, a name or a decision id.
    const everything = JSON.stringify([exported.d, exported.m, exported.f, exported.l, exported.s], (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
    for (const secret of [...ids, ...people.flatMap((p) => [p.crmId, p.email, `Name${p.who}`]), `${campaignId}-d0`, 'tx-']) expect(everything).not.toContain(secret);

    // An analyst's query (DuckDB reads the Hive partitions as Athena does).
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    const sql = `SELECT feedback, count(DISTINCT row_id) AS n FROM read_parquet('${exportDir()}/kind=feedback/**/*.parquet', hive_partitioning = true) WHERE campaign_id = '${campaignId}' GROUP BY feedback ORDER BY feedback`;
    expect((await duck.runAndReadAll(sql)).getRowObjectsJson()).toEqual([{ feedback: 'delivered', n: '2' }, { feedback: 'opened', n: '1' }, { feedback: 'unsubscribed', n: '1' }]);

    // The exposures behind treatment and control (aggregates table, hashed ids) before the erasure.
    const exposures = async (c: string) =>
      (await client.send(new QueryCommand({ TableName: names.aggregates, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `EXPOSURE#${createHash('sha256').update(c).digest('hex')}` } }))).Items ?? [];
    await eventually('the exposures counted', async () => ((await exposures(erased)).length && (await exposures(kept)).length ? true : undefined), patience);

    // Erasure, through the bus and the real erasure path.
    await send('baton.crm', 'CustomerErased', { ids: { crmId: people[0]!.crmId }, occurredAt: now(), requestId: unique('DSR') });
    const keyItem = async (c: string) =>
      (await client.send(new GetCommand({ TableName: names.aggregates, Key: { pk: `PSEUDONYM#${createHmac('sha256', LOCAL_EXPORT_SECRET).update(c).digest('hex')}`, sk: 'KEY' }, ConsistentRead: true }))).Item;
    await eventually('the erased customer forgotten by the export and the aggregates', async () => {
      const item = await keyItem(erased);
      return item && item.key === undefined && item.forgottenAt && (await exposures(erased)).length === 0 ? true : undefined;
    }, patience);
    // The erased customer's rows can no longer be linked: no key is left to make their pseudonym,
    // a fresh reader (with the secret) gets none, and no row carries any pseudonym made for them now.
    const fresh = new DynamoPseudonyms(client, names.aggregates, LOCAL_EXPORT_SECRET);
    expect(await fresh.of(erased)).toBeUndefined();
    // The others stay: same pseudonyms, rows and exposures.
    expect((await fresh.of(kept))?.(`customer\u0000${kept}`)).toBe(pKept);
    expect(await exposures(kept)).toHaveLength(1);
    expect((await rows('decisions')).rows.filter((r) => r.customer === pKept)).toHaveLength(1);
  }, 240_000);
});
