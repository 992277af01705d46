// The console's settings (docs/console.md), read from the API function's environment:
//   BATON_CONSOLE_TENANT      the tenant this deployment serves: a caller whose `custom:tenant`
//                             claim names another finds nothing (404). @default the stage
//   BATON_CONSOLE_FOUR_EYES   `off` lets a marketer's change go live at once (still audited). @default on
//   BATON_CONSOLE_REPLAY      `off`: the API does not replay quarantined events (a replay runs ingest,
//                             whose writes the cloud's console function is not granted). @default on
import { z } from 'zod';

export interface ConsoleSettings {
  readonly tenant: string;
  readonly fourEyes: boolean;
  /** Replay of quarantined events from the console. @default true */
  readonly replay?: boolean;
}

/** The Cognito groups of the console, lowest first (each may do what the ones before it may). */
export const CONSOLE_GROUPS = ['viewer', 'marketer', 'approver', 'admin'] as const;

/** The claim that names a user's tenant (a custom attribute of the user pool). */
export const TENANT_CLAIM = 'custom:tenant';

/** Where the console's API is served, under the site's origin. */
export const CONSOLE_API_BASE = '/console/api';

const schema = z.object({
  BATON_CONSOLE_TENANT: z.string().regex(/^[a-z0-9-]{1,64}$/, 'expected lower-case letters, digits and -, at most 64').optional(),
  BATON_CONSOLE_FOUR_EYES: z.enum(['on', 'off'], 'expected on or off').optional(),
  BATON_CONSOLE_REPLAY: z.enum(['on', 'off'], 'expected on or off').optional(),
  BATON_STAGE: z.string().optional(),
});

export function parseConsoleSettings(env: Readonly<Record<string, string | undefined>>, stage?: string): ConsoleSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`console settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { tenant: parsed.data.BATON_CONSOLE_TENANT ?? stage ?? parsed.data.BATON_STAGE ?? 'local', fourEyes: parsed.data.BATON_CONSOLE_FOUR_EYES !== 'off', replay: parsed.data.BATON_CONSOLE_REPLAY !== 'off' };
}
