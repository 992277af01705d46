// The feedback kinds `baton simulate` knows, with the channels each applies to (kept apart from
// simulate.ts so the command tree can list them without loading the command).
/** Every kind, with the channels it applies to. */
export const SIMULATIONS = {
  delivered: ['email'],
  opened: ['email'],
  clicked: ['email', 'device'],
  bounced: ['email'],
  complained: ['email'],
  unsubscribed: ['email'],
  displayed: ['device'],
  'opted-out': ['sms'],
} as const satisfies Record<string, readonly ('email' | 'device' | 'sms')[]>;
export type SimulationKind = keyof typeof SIMULATIONS;

/** The link a click is recorded on when the mail has no tracked link and --link names none. */
export const DEFAULT_LINK = 'https://example.com/';
export const SIMULATION_KINDS = Object.keys(SIMULATIONS) as SimulationKind[];

