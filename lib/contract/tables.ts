// Baton's DynamoDB tables, defined once: the CDK stack and the local stack both create them from here.
// Every table uses a generic `pk`/`sk` key so new item kinds need no schema change; the item
// shapes are documented next to the repository that owns them.

export interface TableSpec {
  /** What the table holds, for docs and the CDK description. */
  readonly holds: string;
  /** Attribute that DynamoDB's TTL deletes on; undefined when nothing in the table expires. */
  readonly timeToLiveAttribute?: string;
  /** Stream view when a consumer reads the table's changes. */
  readonly stream?: 'NEW_IMAGE' | 'NEW_AND_OLD_IMAGES';
  /** Holds customer data: retained on stack deletion in production, erased per customer on request. */
  readonly personalData: boolean;
  /** Global secondary indexes (all attributes projected), string keys. */
  readonly indexes?: readonly { readonly name: string; readonly partitionKey: string; readonly sortKey: string }[];
}

export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';
export const TTL_ATTRIBUTE = 'expiresAt';

export const TABLES = {
  customers: {
    holds: 'customer profiles, the identity index (external id to customerId), event markers and erasure tombstones',
    timeToLiveAttribute: TTL_ATTRIBUTE,
    // The analytical export reads profile changes (names of what changed, never values) and erasure journals.
    stream: 'NEW_AND_OLD_IMAGES',
    personalData: true,
  },
  rules: { holds: 'marketer rules with every version', personalData: false },
  campaigns: { holds: 'campaigns and the contact policy', personalData: false },
  templates: { holds: 'message templates per channel and locale', personalData: false },
  decisions: {
    holds: 'decisions with their reasons, and the outbox the channels read (its stream feeds dispatch)',
    timeToLiveAttribute: TTL_ATTRIBUTE,
    stream: 'NEW_AND_OLD_IMAGES',
    personalData: true,
    // Erasure and `baton customer show` find every decision of one customer through it.
    indexes: [{ name: 'byCustomer', partitionKey: 'customerId', sortKey: SORT_KEY }],
  },
  quarantine: {
    holds: 'events that failed validation, with the original payload and the reason',
    timeToLiveAttribute: TTL_ATTRIBUTE,
    personalData: true,
  },
  context: {
    holds: 'business context: the latest stock per SKU and location, call-centre load per team, promotions',
    personalData: false,
  },
  counters: {
    holds: 'contact caps, campaign budgets, channel capacity windows and anonymous counters',
    timeToLiveAttribute: TTL_ATTRIBUTE,
    personalData: false,
  },
  ledger: {
    holds: 'loyalty programmes and their items, members\' accounts, lots and append-only ledger entries, sharded programme counters',
    // The analytical export reads the ledger entries as they are appended.
    stream: 'NEW_IMAGE',
    personalData: true,
  },
  aggregates: {
    // Not the counters table: a rebuild removes and rewrites every cell, which must never touch the
    // live budgets and capacity claims there, and cells are kept as long as decisions (no TTL on them).
    holds: 'report aggregates per campaign, rule, offer, channel, segment, journey step, run and day (sharded), their once-markers and exposures (hashed customer ids)',
    timeToLiveAttribute: TTL_ATTRIBUTE,
    personalData: false,
  },
} as const satisfies Record<string, TableSpec>;

export type TableKey = keyof typeof TABLES;
export const TABLE_KEYS = Object.keys(TABLES) as TableKey[];

/** Physical table name for a stage, e.g. `baton-local-customers`. */
export function tableName(stage: string, key: TableKey): string {
  return `baton-${stage}-${key}`;
}

/** The environment variable that hands a function the name of a table. */
export function tableEnvVar(key: TableKey): string {
  return `BATON_TABLE_${key.toUpperCase()}`;
}

export type TableNames = Record<TableKey, string>;

export function tableNames(stage: string): TableNames {
  return Object.fromEntries(TABLE_KEYS.map((k) => [k, tableName(stage, k)])) as TableNames;
}
