// Routing, defined once. The CDK stack turns each route into an EventBridge rule on the `baton`
// bus; the local bus matches the same pattern objects with Baton's matcher (lib/core/event-pattern/index.ts).
import { SOURCES } from '../../events/catalog.ts';

export type EventPattern = Record<string, unknown>;

/** The consumers a route can deliver to. Each is one queue + one handler in functions/. */
export const TARGETS = ['evaluate'] as const;
export type RouteTarget = (typeof TARGETS)[number];

export interface Route {
  /** Stable id: the CDK construct id of the rule (changing it replaces the rule). */
  readonly id: string;
  readonly description: string;
  readonly pattern: EventPattern;
  readonly target: RouteTarget;
}

const CUSTOMER_SOURCES = [SOURCES.crm, SOURCES.erp, SOURCES.pos, SOURCES.device, SOURCES.partners];

export const ROUTES: readonly Route[] = [
  {
    id: 'CustomerEvents',
    description: 'Events from the source systems (CRM, ERP, POS, devices) to evaluate',
    pattern: { source: CUSTOMER_SOURCES },
    target: 'evaluate',
  },
  {
    id: 'EmailFeedback',
    description: 'SES feedback (sent, delivered, opened, clicked, bounced, complaints) to evaluate',
    pattern: { source: [SOURCES.ses] },
    target: 'evaluate',
  },
  {
    // Rules and journeys start on segment entry and exit; these events change no customer state.
    id: 'SegmentEvents',
    description: 'SegmentEntered and SegmentLeft (Baton publishes them) to evaluate, for rules and journeys',
    pattern: { source: [SOURCES.segments] },
    target: 'evaluate',
  },
  {
    // Rules and journeys react to points earned, expiring, tiers and attributed sales (docs/loyalty.md).
    id: 'LoyaltyEvents',
    description: 'PointsEarned, PointsExpiring, TierChanged, SaleAttributed and the other loyalty events to evaluate',
    pattern: { source: [SOURCES.loyalty] },
    target: 'evaluate',
  },
  {
    // Nothing published to the bus is silently dropped: an unknown source reaches evaluate,
    // which quarantines it with the reason. Baton's own actions are for outside subscribers.
    id: 'UnknownSources',
    description: 'Events from sources Baton does not know, to be quarantined with the reason',
    pattern: { source: [{ 'anything-but': [...CUSTOMER_SOURCES, SOURCES.ses, SOURCES.baton, SOURCES.segments, SOURCES.loyalty] }] },
    target: 'evaluate',
  },
];

/** SES can only publish to the default bus; this rule there forwards its events to `baton`. */
export const SES_FORWARDING_PATTERN: EventPattern = { source: [SOURCES.ses] };

/** The bus every source system publishes to. */
export const BUS_NAME = 'baton';

/** MQTT topics device messages are published to: `baton/devices/<deviceId>/messages`. */
export const DEVICE_TOPIC_PREFIX = 'baton/devices';
export const deviceTopic = (deviceId: string): string => `${DEVICE_TOPIC_PREFIX}/${deviceId}/messages`;
