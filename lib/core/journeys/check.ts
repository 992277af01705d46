// The checks a journey passes at write (`baton journeys put|validate`) and at load: the schema, then
// the graph. Every problem names the step (by id) and the field, and what was expected.
import type { z } from 'zod';
import type { Channel } from '../../../events/catalog.ts';
import { itemId } from '../rules/item.ts';
import { journeySchema, successors, type Journey } from './journey.ts';

export type JourneyCheck = { ok: true; journey: Journey } | { ok: false; journeyId: string; reason: string };

export interface JourneyCheckContext {
  /** Whether a template exists for the channel; without it templates are not checked (load time). */
  readonly templateExists?: (templateId: string, channel: Channel) => boolean;
}

/** `steps.2.channel` as `step "email" (steps[2]) field channel`. */
function where(path: readonly PropertyKey[], raw: unknown): string {
  if (path[0] === 'steps' && typeof path[1] === 'number') {
    const steps = (raw as { steps?: unknown[] } | null)?.steps;
    const sid = (steps?.[path[1]] as { id?: unknown } | undefined)?.id;
    const name = typeof sid === 'string' ? `step "${sid}"` : `step ${path[1] + 1}`;
    const field = path.slice(2).join('.');
    return `${name} (steps[${path[1]}])${field ? ` field ${field}` : ''}`;
  }
  return path.length ? `field ${path.join('.')}` : '(journey)';
}

function schemaIssues(error: z.ZodError, raw: unknown): string[] {
  return error.issues.map((i) => `${where(i.path, raw)}: ${i.message}`);
}

/** Graph problems: unknown targets, unreachable steps, cycles that never wait, answers of non-sends. */
export function graphIssues(journey: Journey, ctx: JourneyCheckContext = {}): string[] {
  const problems: string[] = [];
  const index = new Map<string, number>();
  journey.steps.forEach((s, i) => {
    if (index.has(s.id)) problems.push(`step "${s.id}" (steps[${i}]) field id: step ids must be unique, "${s.id}" is also steps[${index.get(s.id)}]`);
    else index.set(s.id, i);
  });
  const at = (i: number, field: string) => `step "${journey.steps[i]!.id}" (steps[${i}]) field ${field}`;
  const targetFields = (i: number): [string, string][] => {
    const s = journey.steps[i]!;
    const out: [string, string][] = [];
    if ('next' in s && s.next) out.push(['next', s.next]);
    if (s.type === 'wait' && s.timeoutNext) out.push(['timeoutNext', s.timeoutNext]);
    if (s.type === 'branch') {
      s.cases?.forEach((c, k) => out.push([`cases.${k}.next`, c.next]));
      s.split?.forEach((c, k) => out.push([`split.${k}.next`, c.next]));
      if (s.otherwise) out.push(['otherwise', s.otherwise]);
    }
    return out;
  };
  journey.steps.forEach((s, i) => {
    for (const [field, target] of targetFields(i)) {
      if (!index.has(target)) problems.push(`${at(i, field)}: no step "${target}" in this journey`);
    }
    if (s.type === 'branch' && s.answerOf) {
      const j = index.get(s.answerOf);
      if (j === undefined) problems.push(`${at(i, 'answerOf')}: no step "${s.answerOf}" in this journey`);
      else if (journey.steps[j]!.type !== 'send') problems.push(`${at(i, 'answerOf')}: "${s.answerOf}" is a ${journey.steps[j]!.type} step, expected a send step`);
    }
    if (ctx.templateExists) {
      if (s.type === 'send' && !ctx.templateExists(s.template, s.channel)) problems.push(`${at(i, 'template')}: no ${s.channel} template "${s.template}"`);
      if (s.type === 'wait') {
        s.meanwhile?.forEach((m, k) => {
          if (!ctx.templateExists!(m.send.template, m.send.channel)) problems.push(`${at(i, `meanwhile.${k}.send.template`)}: no ${m.send.channel} template "${m.send.template}"`);
        });
      }
    }
  });
  if (problems.length) return problems;

  const edges = journey.steps.map((_, i) => successors(journey, i).map((t) => index.get(t)!));
  // Reachable from the first step.
  const seen = new Set<number>([0]);
  const stack = [0];
  while (stack.length) for (const j of edges[stack.pop()!]!) if (!seen.has(j)) (seen.add(j), stack.push(j));
  journey.steps.forEach((s, i) => {
    if (!seen.has(i)) problems.push(`step "${s.id}" (steps[${i}]): no step leads to it (unreachable from the first step "${journey.steps[0]!.id}")`);
  });
  // A cycle must pass a wait, or one event would run it for ever: look for cycles among the other steps.
  const state = new Map<number, 'open' | 'done'>();
  const cycle = (i: number, trail: number[]): number[] | undefined => {
    if (journey.steps[i]!.type === 'wait') return undefined;
    if (state.get(i) === 'open') return [...trail.slice(trail.indexOf(i)), i];
    if (state.get(i) === 'done') return undefined;
    state.set(i, 'open');
    for (const j of edges[i]!) {
      const found = cycle(j, [...trail, i]);
      if (found) return found;
    }
    state.set(i, 'done');
    return undefined;
  };
  for (let i = 0; i < journey.steps.length; i++) {
    const found = cycle(i, []);
    if (found) {
      problems.push(`step "${journey.steps[found[0]!]!.id}" (steps[${found[0]}]) field next: the steps ${found.map((k) => `"${journey.steps[k]!.id}"`).join(' → ')} form a cycle without a wait`);
      break;
    }
  }
  return problems;
}

/** Validates one journey item: the schema, then the graph; the reason names each step and field at fault. */
export function checkJourney(item: unknown, ctx: JourneyCheckContext = {}): JourneyCheck {
  const journeyId = itemId(item, 'journeyId');
  const parsed = journeySchema.safeParse(item);
  if (!parsed.success) return { ok: false, journeyId, reason: schemaIssues(parsed.error, item).join('; ') };
  const problems = graphIssues(parsed.data, ctx);
  if (problems.length) return { ok: false, journeyId, reason: problems.join('; ') };
  return { ok: true, journey: parsed.data };
}
