// Checks of an outbound run against the decisions table (test/integration/runs*.test.ts): every
// member decided once, capacity per UTC hour, quiet hours in each member's zone.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../../lib/contract/tables.ts';
import { scanTable, type Item } from './tables.ts';

export interface RunAudit {
  /** Decisions per customer for the run. */
  readonly decisionsPer: Map<string, number>;
  /** Messages of the run per UTC hour they are sent in (notBefore, else the decision's time). */
  readonly perHour: Map<string, number>;
  /** Messages whose send time falls in the quiet window of the member's zone. */
  readonly inQuietHours: number;
  readonly messages: number;
  readonly decisions: Item[];
}

const localMinutes = (atMs: number, timeZone: string): number => {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' }).formatToParts(atMs);
  return Number(parts.find((p) => p.type === 'hour')!.value) * 60 + Number(parts.find((p) => p.type === 'minute')!.value);
};

export async function auditRun(db: DynamoDBDocumentClient, tables: TableNames, runId: string, zones: Map<string, string>, quiet: { start: string; end: string }): Promise<RunAudit> {
  const items = await scanTable(db, tables.decisions);
  const decisions = items.filter((i) => i.sk === 'DECISION' && String(i.eventId).startsWith(`run:${runId}:`));
  const ids = new Set(decisions.map((d) => String(d.pk)));
  const messages = items.filter((i) => String(i.sk).startsWith('MSG#') && ids.has(String(i.pk)));
  const decisionsPer = new Map<string, number>();
  for (const d of decisions) decisionsPer.set(String(d.customerId), (decisionsPer.get(String(d.customerId)) ?? 0) + 1);
  const perHour = new Map<string, number>();
  const [qs, qe] = [quiet.start, quiet.end].map((t) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3)));
  let inQuietHours = 0;
  for (const m of messages) {
    const sendAt = Date.parse(String(m.notBefore ?? m.createdAt));
    const hour = new Date(sendAt).toISOString().slice(0, 13);
    perHour.set(hour, (perHour.get(hour) ?? 0) + 1);
    const minute = localMinutes(sendAt, zones.get(String(m.customerId)) ?? 'UTC');
    const quietNow = qs! < qe! ? minute >= qs! && minute < qe! : minute >= qs! || minute < qe!;
    if (quietNow) inQuietHours++;
  }
  return { decisionsPer, perHour, inQuietHours, messages: messages.length, decisions };
}
