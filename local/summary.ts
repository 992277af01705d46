// The local stack's running figures: the line `npm start` keeps printing while the stack runs,
// and the `summary` of GET /local/stats. Counted from the handlers' own metrics port (the figures
// the cloud's dashboard shows), the bus, the channel stand-ins, the local Scheduler (journey
// timers) and the dead-letter lists; and the stack's clock when it is not real time. Ids,
// codes and counts only: never an address, a name or a message's content.
import type { DeadLetterEntry, Metrics } from '../lib/app/ports.ts';
import type { MetricName } from '../lib/contract/metrics.ts';
import type { LocalBus } from './bus.ts';
import type { LocalMessages } from './inspection.ts';
import type { LocalQueue } from './queue.ts';
import type { LocalStreamPoller } from './streams.ts';
import type { LocalScheduler } from './scheduler.ts';
import type { LocalClock } from './clock.ts';

export interface SummaryParts {
  readonly bus: LocalBus;
  readonly queue: LocalQueue;
  readonly stream: LocalStreamPoller;
  readonly messages: LocalMessages;
  readonly sendFailures: readonly DeadLetterEntry[];
  readonly scheduler?: LocalScheduler;
  readonly clock?: LocalClock;
}

/** Journey timers: waiting for their time, due now (being delivered), fired, fired late, dead-lettered. */
export interface TimerFigures {
  readonly waiting: number;
  readonly due: number;
  readonly fired: number;
  /** Fired past Scheduler's 60-second precision after the clock reached their time. */
  readonly late: number;
  readonly deadLettered: number;
}

export interface SummaryFigures {
  /** Every event the bus accepted, and where they came from. */
  readonly events: number;
  readonly eventsFrom: { readonly sourceSystems: number; readonly sesFeedback: number; readonly batonActions: number };
  readonly decisions: number;
  /** Messages the providers accepted, per channel. */
  readonly messages: Readonly<Record<string, number>>;
  readonly quarantined: number;
  /** Inbound events evaluate gave up on, dispatch stream batches, and permanent send failures. */
  readonly deadLetters: number;
  /** Rules (and campaign or policy items) evaluate skipped as invalid, each version counted once. */
  readonly skippedRules: number;
  /** Once the stack has had a journey timer. */
  readonly timers?: TimerFigures;
  /** The stack's time, when its clock is not real time (a speed, or advanced). */
  readonly clock?: { readonly now: string; readonly speed: number };
  /** Once a customer entered a journey: entries, conversions, and customers waiting per journey and step. */
  readonly journeys?: JourneyFigures;
}

export interface JourneyFigures {
  readonly entered: number;
  readonly converted: number;
  /** journeyId → stepId → customers waiting there now (JourneyCustomersInStep, summed). */
  readonly waiting: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Something to print on: a terminal or a pipe. */
export interface SummaryOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface ReportOptions {
  /** Without a TTY: a line this often, when a figure changed. Default one minute. */
  readonly everyMs?: number;
  /** How often new dead letters are looked for (and the TTY line redrawn). Default 500 ms. */
  readonly checkMs?: number;
}

export class LiveSummary {
  private readonly counts = new Map<MetricName, number>();
  private parts: SummaryParts | undefined;
  private readonly reported = { inbound: 0, dispatch: 0, sends: 0, timers: 0 };
  /** `journeyId\u0000stepId` → customers in that step (the +1/−1 of JourneyCustomersInStep). */
  private readonly inStep = new Map<string, number>();

  /** A handler's metrics port, counted here on the way to Powertools. */
  tap(port: Metrics): Metrics {
    return {
      count: (name, value = 1, dimensions) => {
        this.counts.set(name, (this.counts.get(name) ?? 0) + value);
        if (name === 'JourneyCustomersInStep' && dimensions?.journeyId && dimensions.stepId) {
          const key = `${dimensions.journeyId}\u0000${dimensions.stepId}`;
          this.inStep.set(key, (this.inStep.get(key) ?? 0) + value);
        }
        if (dimensions) port.count(name, value, dimensions);
        else port.count(name, value);
      },
    };
  }

  private journeyFigures(): { journeys?: JourneyFigures } {
    if (this.count('JourneyEntries') === 0) return {};
    const waiting: Record<string, Record<string, number>> = {};
    for (const [key, n] of [...this.inStep].sort(([a], [b]) => a.localeCompare(b))) {
      if (n === 0) continue;
      const [journeyId, stepId] = key.split('\u0000') as [string, string];
      (waiting[journeyId] ??= {})[stepId] = n;
    }
    return { journeys: { entered: this.count('JourneyEntries'), converted: this.count('JourneyConversions'), waiting } };
  }

  /** The stand-ins whose figures the summary reads; given once the stack is built. */
  attach(parts: SummaryParts): void {
    this.parts = parts;
  }

  figures(): SummaryFigures {
    const p = this.parts;
    const origins = p?.bus.origins ?? { sourceSystems: 0, sesFeedback: 0, batonActions: 0 };
    return {
      events: p?.bus.stats.accepted ?? 0,
      eventsFrom: { ...origins },
      decisions: this.count('Decisions'),
      messages: p?.messages.sentPerChannel() ?? {},
      quarantined: this.count('EventsQuarantined'),
      deadLetters: p ? p.queue.deadLetters.length + p.stream.failures.length + p.sendFailures.length + (p.scheduler?.deadLetters.length ?? 0) : 0,
      skippedRules: this.count('RulesRejected'),
      ...this.timerFigures(),
      ...this.journeyFigures(),
      ...(p?.clock && (p.clock.speed !== 1 || p.clock.advancedMs > 0) ? { clock: { now: p.clock.now().toISOString(), speed: p.clock.speed } } : {}),
    };
  }

  private timerFigures(): { timers?: TimerFigures } {
    const s = this.parts?.scheduler;
    if (!s || (s.stats.created === 0 && s.waiting === 0)) return {};
    return { timers: { waiting: s.waiting, due: s.due, fired: s.stats.fired, late: s.stats.late, deadLettered: s.deadLetters.length } };
  }

  line(): string {
    const f = this.figures();
    const perChannel = Object.entries(f.messages).sort(([a], [b]) => a.localeCompare(b)).map(([channel, n]) => `${channel} ${n}`).join(', ') || 'none';
    const timers = f.timers ? ` · timers waiting ${f.timers.waiting}, due ${f.timers.due}, fired ${f.timers.fired} (late ${f.timers.late})` : '';
    const inSteps = f.journeys
      ? Object.entries(f.journeys.waiting).flatMap(([journeyId, steps]) => Object.entries(steps).map(([stepId, n]) => `${journeyId}/${stepId} ${n}`))
      : [];
    const journeys = f.journeys ? ` · journeys entered ${f.journeys.entered}, converted ${f.journeys.converted}, waiting: ${inSteps.join(', ') || 'none'}` : '';
    const clock = f.clock ? ` · clock ${f.clock.now.slice(0, 16).replace('T', ' ')} UTC (×${f.clock.speed})` : '';
    return `events in ${f.events} · decisions ${f.decisions} · messages sent: ${perChannel} · quarantined ${f.quarantined} · dead letters ${f.deadLetters} · skipped rules ${f.skippedRules}${timers}${journeys}${clock}`;
  }

  /**
   * Dead letters that arrived since the last call, one line each: where, the code, the message id.
   * Reasons stay at /local/dead-letters: a provider's message may quote an address.
   */
  newDeadLetters(): string[] {
    const p = this.parts;
    if (!p) return [];
    const lines: string[] = [];
    for (const d of p.queue.deadLetters.slice(this.reported.inbound)) {
      lines.push(`dead letter: evaluate-failed · inbound message ${d.messageId} (received ${d.receiveCount} times)`);
    }
    for (const d of p.stream.failures.slice(this.reported.dispatch)) {
      lines.push(`dead letter: dispatch-failed · stream record ${d.sequenceNumber}`);
    }
    for (const d of p.sendFailures.slice(this.reported.sends)) {
      lines.push(`dead letter: ${d.code} · ${d.channel} message of decision ${d.decisionId}`);
    }
    const timers = p.scheduler?.deadLetters ?? [];
    for (const d of timers.slice(this.reported.timers)) {
      lines.push(`dead letter: timer-failed · schedule ${d.scheduleArn.split('/').pop()} (tried ${d.attempts} times)`);
    }
    this.reported.timers = timers.length;
    this.reported.inbound = p.queue.deadLetters.length;
    this.reported.dispatch = p.stream.failures.length;
    this.reported.sends = p.sendFailures.length;
    return lines;
  }

  /**
   * Keeps the figures in view while the stack runs: on a TTY one line redrawn in place, otherwise a
   * line every `everyMs` when a figure changed; dead letters get a line of their own as they
   * happen. Returns the function that stops it.
   */
  report(out: SummaryOutput, { everyMs = 60_000, checkMs = 500 }: ReportOptions = {}): () => void {
    let shown = '';
    let lastLineAt = Date.now();
    const tty = out.isTTY === true;
    const tick = () => {
      const dead = this.newDeadLetters();
      const line = this.line();
      if (tty) {
        // Clear the status line, print what is new above it, draw it again.
        if (dead.length || line !== shown) out.write(`\r\x1b[2K${dead.map((d) => `${d}\n`).join('')}  ${line}`);
        shown = line;
        return;
      }
      for (const d of dead) out.write(`${d}\n`);
      if (line !== shown && Date.now() - lastLineAt >= everyMs) {
        out.write(`  ${line}\n`);
        shown = line;
        lastLineAt = Date.now();
      }
    };
    const timer = setInterval(tick, checkMs);
    timer.unref();
    return () => {
      clearInterval(timer);
      tick();
      if (tty) out.write('\n');
    };
  }

  private count(name: MetricName): number {
    return this.counts.get(name) ?? 0;
  }
}
