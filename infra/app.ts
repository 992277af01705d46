// The CDK app: `npx cdk synth|deploy` runs this (cdk.json → `npx tsx infra/app.ts`). Settings are
// CDK context: defaults in cdk.json, overridden with `-c key=value` (see docs/deploy.md).
import { App } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SOURCE_SYSTEMS, type SourceSystem } from '../events/catalog.ts';
import type { CrossAccountPublisher } from './constructs/bus.ts';
import { addNagChecks, BatonStack, type BatonStackProps } from './stack.ts';

/** Read Baton's settings from CDK context; every error names the key, the value and what fits. */
export function propsFromContext(node: Node): BatonStackProps {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    return String(value).trim() || undefined;
  };
  const bool = (key: string): boolean | undefined => {
    const value = text(key);
    if (value === undefined || value === 'auto') return undefined;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new Error(`context "${key}" is "${value}"; expected true, false or auto`);
  };
  const int = (key: string): number | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new Error(`context "${key}" is "${value}"; expected a whole number`);
    return Number(value);
  };
  /** A comma-separated string (`-c key=a,b`) or, in cdk.json, a list of strings. */
  const list = (key: string): string[] => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return [];
    if (Array.isArray(value)) {
      if (!value.every((v) => typeof v === 'string')) throw new Error(`context "${key}" is a list with a value that is not a string; expected strings`);
      return value.map((v: string) => v.trim()).filter(Boolean);
    }
    return String(value).split(',').map((v) => v.trim()).filter(Boolean);
  };
  const principal = (key: string): iam.IPrincipal | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    if (/^\d{12}$/.test(value)) return new iam.AccountPrincipal(value);
    if (value.startsWith('arn:')) return new iam.ArnPrincipal(value);
    throw new Error(`context "${key}" is "${value}"; expected an IAM role/user ARN or a 12-digit account id`);
  };

  const senderEmail = text('senderEmail');
  if (!senderEmail) throw new Error('context "senderEmail" is not set; expected the From address, e.g. -c senderEmail=offers@example.com');

  const publisherPrincipals: Partial<Record<SourceSystem, iam.IPrincipal>> = {};
  for (const system of SOURCE_SYSTEMS) {
    const p = principal(`publisherPrincipal.${system}`);
    if (p) publisherPrincipals[system] = p;
  }

  // "crm=111122223333,pos=444455556666"
  const crossAccountPublishers: CrossAccountPublisher[] = (text('crossAccountPublishers') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const [system, account] = entry.split('=').map((s) => s.trim());
      if (!SOURCE_SYSTEMS.includes(system as SourceSystem) || !account) {
        throw new Error(
          `context "crossAccountPublishers" has "${entry}"; expected <system>=<account id> with system one of ${SOURCE_SYSTEMS.join(', ')}`,
        );
      }
      return { system: system as SourceSystem, account };
    });

  // Partners that publish their sales, one role each (docs/loyalty.md): "corner-cafe,city-garage",
  // or with who may assume the role, "corner-cafe=111122223333,city-garage=arn:aws:iam::…:role/pos";
  // in cdk.json also a list of such strings.
  const partnerEntries = list('loyaltyPartners');
  const loyaltyPartners: string[] = [];
  const loyaltyPartnerPrincipals: Record<string, iam.IPrincipal> = {};
  for (const entry of partnerEntries) {
    const [partnerId = '', who, ...rest] = entry.split('=').map((s) => s.trim());
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(partnerId) || who === '' || rest.length) {
      throw new Error(`context "loyaltyPartners" has "${entry}"; expected <partner id>[=<12-digit account id or IAM role ARN>], the id in lower-case letters, digits and dashes`);
    }
    if (loyaltyPartners.includes(partnerId)) throw new Error(`context "loyaltyPartners" names partner "${partnerId}" twice; expected each partner once`);
    loyaltyPartners.push(partnerId);
    if (who !== undefined) {
      if (/^\d{12}$/.test(who)) loyaltyPartnerPrincipals[partnerId] = new iam.AccountPrincipal(who);
      else if (/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+/.test(who)) loyaltyPartnerPrincipals[partnerId] = new iam.ArnPrincipal(who);
      else throw new Error(`context "loyaltyPartners" has "${entry}"; expected after "=" a 12-digit account id or an IAM role/user ARN`);
    }
  }

  return {
    stage: text('stage'),
    senderEmail,
    createSenderIdentity: bool('createSenderIdentity'),
    alarmEmail: text('alarmEmail'),
    alarmTopicArn: text('alarmTopicArn'),
    retainData: bool('retainData'),
    busName: text('busName'),
    archiveRetentionDays: int('archiveRetentionDays'),
    publisherPrincipal: principal('publisherPrincipal'),
    publisherPrincipals,
    crossAccountPublishers,
    unsubscribeUrl: text('unsubscribeUrl'),
    iotEndpoint: text('iotEndpoint'),
    smsEnabled: bool('smsEnabled'),
    dispatchConcurrency: int('dispatchConcurrency'),
    smsMonthlyBudgetUsd: int('smsMonthlyBudgetUsd'),
    ...(loyaltyPartners.length ? { loyaltyPartners } : {}),
    ...(Object.keys(loyaltyPartnerPrincipals).length ? { loyaltyPartnerPrincipals } : {}),
  };
}

/** Stack name per stage, so stages can live side by side in one account: `baton-dev`, `baton-prod`. */
export function stackName(props: BatonStackProps): string {
  return `baton-${props.stage ?? 'dev'}`;
}

// Run only as the CDK app entry point, not when a test imports propsFromContext.
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('infra/app.ts')) {
  const app = new App();
  const props = propsFromContext(app.node);
  new BatonStack(app, stackName(props), {
    ...props,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  addNagChecks(app);
}
