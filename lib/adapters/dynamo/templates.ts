// The templates table: TPL#<templateId> / <channel>#<locale>  { subject, html, text }
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { templateKey, templateSchema, localeChain, type Template } from '../../core/channels/template.ts';
import type { Channel } from '../../../events/catalog.ts';

export class DynamoTemplateStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** The template for the customer's locale, falling back to the language, then the default locale. */
  async find(templateId: string, channel: Channel, locale: string | undefined): Promise<Template | undefined> {
    for (const candidate of localeChain(locale)) {
      const out = await this.db.send(new GetCommand({ TableName: this.table, Key: templateKey(templateId, channel, candidate) }));
      if (out.Item) {
        const parsed = templateSchema.safeParse(out.Item);
        if (parsed.success) return parsed.data;
      }
    }
    return undefined;
  }

  /** Every stored variant (channel and locale) of one template; items that do not parse are left out. */
  async variants(templateId: string): Promise<Template[]> {
    const { pk } = templateKey(templateId, 'email', 'en');
    const found: Template[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        const parsed = templateSchema.safeParse(item);
        if (parsed.success) found.push(parsed.data);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return found;
  }

  async put(template: Template): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.table, Item: { ...templateKey(template.templateId, template.channel, template.locale), ...template } }),
    );
  }
}
