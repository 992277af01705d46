// The live summary's reporting in process, on fake timers: a line a minute without a TTY (only
// when a figure changed), one line redrawn in place on a TTY, and a line per dead letter at once.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalBus } from '../../local/bus.ts';
import { LocalMessages } from '../../local/inspection.ts';
import { LocalQueue } from '../../local/queue.ts';
import { LocalStreamPoller } from '../../local/streams.ts';
import { LiveSummary } from '../../local/summary.ts';
import type { DeadLetterEntry } from '../../lib/app/ports.ts';

function summary() {
  const bus = new LocalBus({ port: 0, routes: [], deliver: () => undefined });
  const queue = new LocalQueue({ name: 'unit', handler: async () => undefined });
  // Never started: the summary only reads its failure list.
  const stream = new LocalStreamPoller('http://127.0.0.1:9', 'arn:aws:dynamodb:local:000000000000:table/t/stream/x', async () => undefined);
  const sendFailures: DeadLetterEntry[] = [];
  const live = new LiveSummary();
  live.attach({ bus, queue, stream, messages: new LocalMessages(), sendFailures });
  const event = () => bus.putEvents([{ Source: 'baton.pos', DetailType: 'SaleCompleted', Detail: '{}', EventBusName: 'baton' }]);
  const deadLetter = (decisionId: string) =>
    sendFailures.push({ pk: `D#${decisionId}`, sk: 'MSG#email', decisionId, customerId: 'c-1', channel: 'email', code: 'no-template', reason: 'template t for email not found in any locale', at: new Date().toISOString() });
  return { live, event, deadLetter, stop: () => queue.stop() };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('LiveSummary.report', () => {
  it('without a TTY: a dead letter at once, then a line a minute only when a figure changed', async () => {
    const s = summary();
    const written: string[] = [];
    const stop = s.live.report({ write: (t) => written.push(t) }, { everyMs: 60_000, checkMs: 500 });

    s.event();
    s.deadLetter('dec-1');
    vi.advanceTimersByTime(500);
    const atOnce = [...written];
    vi.advanceTimersByTime(60_000);
    const afterAMinute = [...written];
    vi.advanceTimersByTime(180_000);
    stop();
    await s.stop();

    expect(atOnce).toEqual(['dead letter: no-template · email message of decision dec-1\n']);
    expect(afterAMinute.slice(1)).toEqual(['  events in 1 · decisions 0 · messages sent: none · quarantined 0 · dead letters 1 · skipped rules 0\n']);
    // Nothing changed in the three minutes after: no line repeated.
    expect(written).toEqual(afterAMinute);
  });

  it('on a TTY: one status line redrawn in place, dead letters printed above it', async () => {
    const s = summary();
    const written: string[] = [];
    const stop = s.live.report({ write: (t) => written.push(t), isTTY: true }, { checkMs: 500 });

    vi.advanceTimersByTime(500);
    s.event();
    s.deadLetter('dec-2');
    vi.advanceTimersByTime(500);
    vi.advanceTimersByTime(5_000);
    stop();
    await s.stop();

    expect(written).toEqual([
      '\r\x1b[2K  events in 0 · decisions 0 · messages sent: none · quarantined 0 · dead letters 0 · skipped rules 0',
      '\r\x1b[2Kdead letter: no-template · email message of decision dec-2\n  events in 1 · decisions 0 · messages sent: none · quarantined 0 · dead letters 1 · skipped rules 0',
      '\n',
    ]);
  });

  it('counts the metrics a handler reports and passes them on', () => {
    const live = new LiveSummary();
    const passed: [string, number | undefined][] = [];
    const port = live.tap({ count: (name, value) => void passed.push([name, value]) });

    port.count('Decisions');
    port.count('EventsQuarantined', 2);
    port.count('RulesRejected');

    expect(passed).toEqual([['Decisions', 1], ['EventsQuarantined', 2], ['RulesRejected', 1]]);
    expect(live.figures()).toMatchObject({ decisions: 1, quarantined: 2, skippedRules: 1 });
  });
});
