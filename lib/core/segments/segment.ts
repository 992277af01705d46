// A segment as marketers keep it (see docs/segments.md): an audience named by an id. A dynamic
// segment's `if` is an EventBridge pattern over the customer view, the same language and the same
// compile as a rule's `if`; Baton keeps its membership current as events change the customer and
// as time passes (the daily refresh). A static segment's members are imported (`baton segments
// import`) and stay until removed. Validated with zod at write (CLI) and again at load.
import { z } from 'zod';
import { itemCheck, itemDescription, itemIdSchema as id, itemVersion, type ItemCheck, patternSchema as pattern } from '../rules/item.ts';


export const SEGMENT_KINDS = ['dynamic', 'static'] as const;

export const segmentSchema = z
  .object({
    segmentId: id,
    description: itemDescription,
    kind: z.enum(SEGMENT_KINDS).default('dynamic'),
    /** A disabled segment keeps its members as they are: no one enters or leaves until it is enabled. */
    enabled: z.boolean().default(true),
    if: pattern.optional(),
    version: itemVersion,
  })
  .refine((s) => (s.kind === 'dynamic') === (s.if !== undefined), {
    message: 'a dynamic segment needs an "if" pattern over the customer view; a static segment has none',
    path: ['if'],
  });

export type Segment = z.infer<typeof segmentSchema>;
export type SegmentInput = z.input<typeof segmentSchema>;
export type SegmentCheck = ItemCheck<'segment', Segment>;

/** Validate one segment item; the reason names the field and what was expected. */
export const checkSegment: (item: unknown) => SegmentCheck = itemCheck('segment', segmentSchema);
