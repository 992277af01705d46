// Baton's settings: the names of the environment variables a function reads, and the one parse
// (zod) that turns them into one typed `Settings` object. The wiring (lib/wiring) builds clients,
// adapters and use cases from that object; nothing below a process entry point reads settings
// from anywhere else.
//
// The rule for `process.env`: only process entry points write it (local/main.ts, bench/run.ts,
// cli/main.ts, for the AWS SDK's Node 20 notice flag). The local stack, the tests and the
// benchmarks hand configuration over as a `Settings` object, never through the environment; the
// handlers in functions/ read `process.env` once, through `parseSettings`, on their first event.
import { z } from 'zod';
import { CHANNELS } from '../../events/catalog.ts';
import { BatonError } from './errors.ts';
import { TABLE_KEYS, tableEnvVar, type TableKey, type TableNames } from './tables.ts';

export const ENV = {
  stage: 'BATON_STAGE',
  busName: 'BATON_BUS_NAME',
  sender: 'BATON_SENDER_EMAIL',
  sesConfigurationSet: 'BATON_SES_CONFIGURATION_SET',
  unsubscribeBaseUrl: 'BATON_UNSUBSCRIBE_URL',
  /** ARN of the Secrets Manager secret that signs unsubscribe links; the value is read at run time. */
  unsubscribeSecretArn: 'BATON_UNSUBSCRIBE_SECRET_ARN',
  dynamodbEndpoint: 'BATON_DYNAMODB_ENDPOINT',
  sesEndpoint: 'BATON_SES_ENDPOINT',
  busEndpoint: 'BATON_BUS_ENDPOINT',
  snsEndpoint: 'BATON_SNS_ENDPOINT',
  iotEndpoint: 'BATON_IOT_ENDPOINT',
  sqsEndpoint: 'BATON_SQS_ENDPOINT',
  /** Queue URL of the dispatch dead-letter queue: permanent send failures go there (alarmed). */
  dispatchDeadLetterQueueUrl: 'BATON_DISPATCH_DLQ_URL',
  /** Queue URL where messages held by quiet hours wait (SQS delay, re-held every 15 minutes). */
  heldQueueUrl: 'BATON_HELD_QUEUE_URL',
  /** Messages per second per dispatch instance, JSON such as {"email": 2.8, "sms": 0.6}. */
  channelRates: 'BATON_CHANNEL_RATES',
  /** Baton's hard monthly SMS budget in US dollars, enforced before each send. @default 1 (SNS's own default) */
  smsMonthlyBudgetUsd: 'BATON_SMS_MONTHLY_BUDGET_USD',
  /** Price of one SMS part (AWS price + carrier fee) in US dollars. @default 0.01 */
  smsCostPerPartUsd: 'BATON_SMS_COST_PER_PART_USD',
  /** Registered origination number (toll-free, 10DLC, short code) SMS are sent from. */
  smsOriginationNumber: 'BATON_SMS_ORIGINATION_NUMBER',
  /** Turns the deliverability guard off ('off'); on ('on') by default. */
  deliverabilityGuard: 'BATON_DELIVERABILITY_GUARD',
  /** How often running functions re-read rules (milliseconds); 10 s by default. */
  rulesRefreshMs: 'BATON_RULES_REFRESH_MS',
  /** How far back an offer's touch counts for a POS sale's attribution (days); 7 by default (docs/loyalty.md). */
  attributionWindowDays: 'BATON_ATTRIBUTION_WINDOW_DAYS',
  /** EventBridge Scheduler group journeys' waits are created in. */
  schedulerGroup: 'BATON_SCHEDULER_GROUP',
  /** Role Scheduler assumes to deliver a wait's end to the evaluate queue. */
  schedulerRoleArn: 'BATON_SCHEDULER_ROLE_ARN',
  /** ARN of the evaluate queue, the schedules' target. */
  schedulerTargetArn: 'BATON_SCHEDULER_TARGET_ARN',
  /** ARN of the queue a schedule's undeliverable event goes to (alarmed). */
  schedulerDeadLetterArn: 'BATON_SCHEDULER_DLQ_ARN',
  schedulerEndpoint: 'BATON_SCHEDULER_ENDPOINT',
  /** The analytical export's bucket (Parquet under kind=<kind>/day=<day>/). */
  exportBucket: 'BATON_EXPORT_BUCKET',
  /** ARN of the Secrets Manager secret the export's pseudonyms are keyed with; the value is read at run time. */
  exportSecretArn: 'BATON_EXPORT_SECRET_ARN',
} as const;

/** Defaults of the settings that have one (the CDK stack passes its own values explicitly). */
export const SETTING_DEFAULTS = { smsMonthlyBudgetUsd: 1, smsCostPerPartUsd: 0.01 } as const;

/** Endpoint overrides per AWS client: set only locally and in tests. */
export interface Endpoints {
  readonly dynamodb?: string;
  readonly ses?: string;
  readonly bus?: string;
  readonly sns?: string;
  readonly iot?: string;
  readonly sqs?: string;
  readonly secretsManager?: string;
  readonly scheduler?: string;
}

/** What the AWS SDK clients are built with; on Lambda all empty, so the SDK's defaults apply. */
export interface AwsSettings {
  readonly endpoints: Endpoints;
  /** Locally only: on Lambda the runtime sets the region. */
  readonly region?: string;
  /** Locally only (dummy keys): on Lambda the function's role. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Where a secret comes from: Secrets Manager in the cloud, the value itself on the laptop. */
export type SecretRef = { readonly arn: string } | { readonly value: string };

/** Messages per second per channel (and bus actions), as lib/core/channels/capacity.ts takes them. */
export type ChannelRateSettings = Partial<Record<(typeof CHANNELS)[number] | 'bus', number>>;

export interface Settings {
  readonly stage?: string;
  readonly tables: TableNames;
  readonly aws: AwsSettings;
  /** The bus bus actions go to and unsubscribes are published on. */
  readonly busName?: string;
  /** How often running functions re-read rules and campaigns; the sources' default when undefined. */
  readonly rulesRefreshMs?: number;
  /** POS attribution's window in days; the rule's default (7) when undefined. */
  readonly attributionWindowDays?: number;
  /** E-mail is sent only when a sender is configured. */
  readonly email?: { readonly from: string; readonly configurationSet?: string };
  readonly sms: { readonly originationNumber?: string; readonly monthlyBudgetUsd: number; readonly costPerPartUsd: number };
  /** Messages per second per channel for this instance; the capacity defaults for channels not named. */
  readonly channelRates: ChannelRateSettings;
  readonly deliverabilityGuard: boolean;
  /** One-click unsubscribe: links in e-mails need both, the unsubscribe route needs the secret. */
  readonly unsubscribe: { readonly baseUrl?: string; readonly secret?: SecretRef };
  readonly queues: { readonly held?: string; readonly deadLetters?: string };
  /** Journeys' waits (EventBridge Scheduler); without it journeys do not run in this function. */
  readonly scheduler?: SchedulerSettings;
  /** The analytical export: where its files go (a bucket in the cloud, a folder locally) and the pseudonyms' secret. */
  readonly export?: ExportSettings;
}

export interface ExportSettings {
  readonly bucket?: string;
  readonly folder?: string;
  readonly secret: SecretRef;
}

export interface SchedulerSettings {
  readonly group: string;
  readonly roleArn: string;
  readonly targetArn: string;
  readonly deadLetterArn?: string;
}

/** Settings that could not be read; `problems` name each variable and what was expected, never its value. */
export class SettingsError extends BatonError<'invalid-settings'> {
  constructor(readonly problems: readonly string[]) {
    super('invalid-settings', `Baton's settings are not valid: ${problems.join('; ')}`);
  }
}

// An empty variable counts as unset, as the SDK treats an empty endpoint.
const blankIsUnset = (value: unknown) => (value === '' ? undefined : value);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankIsUnset, schema.optional());
const text = (expected: string) => z.string({ error: expected }).trim().min(1, { error: expected });
const url = (example: string) => optional(z.url({ protocol: /^https?$/, error: `expected an http(s) URL such as ${example}` }));
const usd = (fallback: number) => {
  const expected = 'expected an amount in US dollars such as 25 or 0.0085';
  return z.preprocess(blankIsUnset, z.coerce.number({ error: expected }).nonnegative({ error: expected }).default(fallback));
};

const RATED = [...CHANNELS, 'bus'] as const;
const RATES_EXAMPLE = '{"email": 2.8, "sms": 0.6}';
const perSecond = z
  .number({ error: 'expected a positive number of messages per second' })
  .positive({ error: 'expected a positive number of messages per second' })
  .optional();
const channelRates = z
  .preprocess(blankIsUnset, z.string().optional())
  .transform((raw, ctx): unknown => {
    if (raw === undefined) return {};
    try {
      return JSON.parse(raw);
    } catch {
      ctx.issues.push({ code: 'custom', input: undefined, message: `expected JSON, an object such as ${RATES_EXAMPLE}` });
      return z.NEVER;
    }
  })
  .pipe(
    z.strictObject(Object.fromEntries(RATED.map((c) => [c, perSecond])) as Record<(typeof RATED)[number], typeof perSecond>, {
      error: `expected a JSON object of channel (${RATED.join(', ')}) to messages per second, such as ${RATES_EXAMPLE}`,
    }),
  );

const tableVars = Object.fromEntries(TABLE_KEYS.map((k) => [tableEnvVar(k), text(`expected the name of the ${k} table`)])) as Record<string, ReturnType<typeof text>>;

/** The environment a function reads, variable by variable. */
const environmentSchema = z.object({
  ...tableVars,
  [ENV.stage]: optional(text('expected a stage name such as dev')),
  [ENV.busName]: optional(text('expected the name of the Baton bus')),
  [ENV.sender]: optional(text('expected the e-mail address Baton sends from')),
  [ENV.sesConfigurationSet]: optional(text('expected the name of an SES configuration set')),
  [ENV.unsubscribeBaseUrl]: url('https://example.com/unsubscribe'),
  [ENV.unsubscribeSecretArn]: optional(
    z.string().regex(/^arn:[\w-]+:secretsmanager:[\w-]+:\d{12}:secret:.+$/, { error: 'expected the ARN of a Secrets Manager secret' }),
  ),
  [ENV.dynamodbEndpoint]: url('http://127.0.0.1:8000'),
  [ENV.sesEndpoint]: url('http://127.0.0.1:8005'),
  [ENV.busEndpoint]: url('http://127.0.0.1:4010'),
  [ENV.snsEndpoint]: url('http://127.0.0.1:4010'),
  [ENV.iotEndpoint]: url('https://xxxxxxxx-ats.iot.eu-west-1.amazonaws.com'),
  [ENV.sqsEndpoint]: url('http://127.0.0.1:9324'),
  [ENV.dispatchDeadLetterQueueUrl]: url('https://sqs.eu-west-1.amazonaws.com/123456789012/baton-dev-dispatch-dlq'),
  [ENV.heldQueueUrl]: url('https://sqs.eu-west-1.amazonaws.com/123456789012/baton-dev-held'),
  [ENV.channelRates]: channelRates,
  [ENV.smsMonthlyBudgetUsd]: usd(SETTING_DEFAULTS.smsMonthlyBudgetUsd),
  [ENV.smsCostPerPartUsd]: usd(SETTING_DEFAULTS.smsCostPerPartUsd),
  [ENV.smsOriginationNumber]: optional(text('expected the phone number or short code SMS are sent from, such as +18005550100')),
  [ENV.deliverabilityGuard]: z.preprocess(blankIsUnset, z.enum(['on', 'off'], { error: 'expected on or off' }).default('on')),
  [ENV.schedulerGroup]: optional(z.string().regex(/^[0-9A-Za-z_.-]{1,64}$/, { error: 'expected a schedule group name: letters, digits, - _ . (at most 64)' })),
  [ENV.schedulerRoleArn]: optional(z.string().regex(/^arn:[\w-]+:iam::\d{12}:role\/.+$/, { error: 'expected the ARN of an IAM role' })),
  [ENV.schedulerTargetArn]: optional(z.string().regex(/^arn:[\w-]+:sqs:[\w-]+:\d{12}:.+$/, { error: 'expected the ARN of an SQS queue' })),
  [ENV.schedulerDeadLetterArn]: optional(z.string().regex(/^arn:[\w-]+:sqs:[\w-]+:\d{12}:.+$/, { error: 'expected the ARN of an SQS queue' })),
  [ENV.schedulerEndpoint]: url('http://127.0.0.1:4010'),
  [ENV.exportBucket]: optional(z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'expected an S3 bucket name' })),
  [ENV.exportSecretArn]: optional(
    z.string().regex(/^arn:[\w-]+:secretsmanager:[\w-]+:\d{12}:secret:.+$/, { error: 'expected the ARN of a Secrets Manager secret' }),
  ),
  [ENV.rulesRefreshMs]: optional(z.coerce.number({ error: 'expected milliseconds, a positive whole number' }).int({ error: 'expected milliseconds, a positive whole number' }).positive({ error: 'expected milliseconds, a positive whole number' })),
  [ENV.attributionWindowDays]: optional(z.coerce.number({ error: 'expected days, a whole number from 1 to 90' }).int({ error: 'expected days, a whole number from 1 to 90' }).min(1, { error: 'expected days, a whole number from 1 to 90' }).max(90, { error: 'expected days, a whole number from 1 to 90' })),
});

/**
 * Reads Baton's settings from an environment (a Lambda function's `process.env`), once. A bad or
 * missing variable throws a `SettingsError` naming every variable at fault and what was expected.
 */
export function parseSettings(env: Readonly<Record<string, string | undefined>>): Settings {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    throw new SettingsError(
      parsed.error.issues.map((issue) => {
        const [name, ...inner] = issue.path.map(String);
        const unset = name !== undefined && blankIsUnset(env[name]) === undefined;
        const where = inner.length ? `${name} (${inner.join('.')})` : name;
        return unset ? `${where} is not set; ${issue.message}` : `${where}: ${issue.message}`;
      }),
    );
  }
  const v = parsed.data;
  const tables = Object.fromEntries(TABLE_KEYS.map((k: TableKey) => [k, (v as Record<string, unknown>)[tableEnvVar(k)]])) as TableNames;
  const sender = v[ENV.sender];
  const configurationSet = v[ENV.sesConfigurationSet];
  const secretArn = v[ENV.unsubscribeSecretArn];
  const endpoints: Endpoints = defined({
    dynamodb: v[ENV.dynamodbEndpoint],
    ses: v[ENV.sesEndpoint],
    bus: v[ENV.busEndpoint],
    sns: v[ENV.snsEndpoint],
    iot: v[ENV.iotEndpoint],
    sqs: v[ENV.sqsEndpoint],
    scheduler: v[ENV.schedulerEndpoint],
  });
  const group = v[ENV.schedulerGroup];
  const roleArn = v[ENV.schedulerRoleArn];
  const targetArn = v[ENV.schedulerTargetArn];
  const schedulerSet = [group, roleArn, targetArn].filter((x) => x !== undefined).length;
  const exportBucket = v[ENV.exportBucket];
  const exportSecret = v[ENV.exportSecretArn];
  if ((exportBucket === undefined) !== (exportSecret === undefined)) {
    throw new SettingsError([`${ENV.exportBucket} and ${ENV.exportSecretArn} go together: set both for the analytical export, or none`]);
  }
  if (schedulerSet > 0 && schedulerSet < 3) {
    throw new SettingsError([`${ENV.schedulerGroup}, ${ENV.schedulerRoleArn} and ${ENV.schedulerTargetArn} go together: set all three for journeys, or none`]);
  }
  return {
    ...defined({ stage: v[ENV.stage], busName: v[ENV.busName], rulesRefreshMs: v[ENV.rulesRefreshMs], attributionWindowDays: v[ENV.attributionWindowDays] }),
    tables,
    aws: { endpoints },
    ...(sender ? { email: { from: sender, ...defined({ configurationSet }) } } : {}),
    sms: {
      ...defined({ originationNumber: v[ENV.smsOriginationNumber] }),
      monthlyBudgetUsd: v[ENV.smsMonthlyBudgetUsd],
      costPerPartUsd: v[ENV.smsCostPerPartUsd],
    },
    channelRates: defined(v[ENV.channelRates]),
    deliverabilityGuard: v[ENV.deliverabilityGuard] === 'on',
    unsubscribe: defined({ baseUrl: v[ENV.unsubscribeBaseUrl], secret: secretArn ? { arn: secretArn } : undefined }),
    queues: defined({ held: v[ENV.heldQueueUrl], deadLetters: v[ENV.dispatchDeadLetterQueueUrl] }),
    ...(exportBucket && exportSecret ? { export: { bucket: exportBucket, secret: { arn: exportSecret } } } : {}),
    ...(group && roleArn && targetArn ? { scheduler: { group, roleArn, targetArn, ...defined({ deadLetterArn: v[ENV.schedulerDeadLetterArn] }) } } : {}),
  };
}

/** The object without its undefined fields (the settings are read with exactOptionalPropertyTypes). */
function defined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, value]) => value !== undefined)) as never;
}
