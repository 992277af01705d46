// The analytical export's kinds and columns, shared by the code that writes the rows
// (lib/core/reports/export.ts) and the Glue tables Athena reads them through (infra/constructs/export.ts).
// The columns below are all there is: no column holds personal data (docs/reports.md).

export const EXPORT_KINDS = ['decisions', 'messages', 'feedback', 'ledger', 'states'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

export type ColumnType = 'STRING' | 'INT64' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP';

/**
 * Every column of every kind, in order (the Parquet schema, the Glue table and docs/reports.md
 * follow it). `row_id` is the same for the same change however often it is exported: delivery is
 * at least once, so an analyst counts `DISTINCT row_id`.
 */
export const EXPORT_COLUMNS = {
  decisions: {
    row_id: 'STRING',
    at: 'TIMESTAMP',
    customer: 'STRING',
    decision: 'STRING',
    event_type: 'STRING',
    campaign_id: 'STRING',
    rule_id: 'STRING',
    channel: 'STRING',
    outcome: 'STRING',
    reason: 'STRING',
    priority: 'INT64',
  },
  messages: {
    row_id: 'STRING',
    at: 'TIMESTAMP',
    created_at: 'TIMESTAMP',
    customer: 'STRING',
    decision: 'STRING',
    campaign_id: 'STRING',
    rule_id: 'STRING',
    channel: 'STRING',
    template: 'STRING',
    offer: 'STRING',
    transactional: 'BOOLEAN',
    status: 'STRING',
    attempts: 'INT64',
  },
  feedback: {
    row_id: 'STRING',
    at: 'TIMESTAMP',
    sent_day: 'STRING',
    customer: 'STRING',
    decision: 'STRING',
    campaign_id: 'STRING',
    rule_id: 'STRING',
    channel: 'STRING',
    feedback: 'STRING',
  },
  ledger: {
    row_id: 'STRING',
    at: 'TIMESTAMP',
    customer: 'STRING',
    programme_id: 'STRING',
    entry_kind: 'STRING',
    points: 'INT64',
    rule_id: 'STRING',
    promotion_id: 'STRING',
    partner_id: 'STRING',
    reward_id: 'STRING',
  },
  states: {
    row_id: 'STRING',
    at: 'TIMESTAMP',
    customer: 'STRING',
    version: 'INT64',
    changed: 'STRING',
    segments_entered: 'STRING',
    segments_left: 'STRING',
    consent_email: 'BOOLEAN',
    consent_sms: 'BOOLEAN',
    consent_push: 'BOOLEAN',
    consent_device: 'BOOLEAN',
  },
} as const satisfies Record<ExportKind, Record<string, ColumnType>>;


/** The tables whose streams the export reads (functions/export.ts in the cloud, stream pollers locally). */
export const EXPORT_TABLES = ['decisions', 'ledger', 'customers'] as const;
/**
 * Of those, the ones whose stream only the export reads: the laptop turns them on only with the
 * export (`startLocalStack({ export })`), as every stream-enabled write costs DynamoDB Local time.
 */
export const EXPORT_ONLY_STREAMS = ['ledger', 'customers'] as const;
