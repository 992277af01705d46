// `baton loyalty put|statement|reconcile|settlement|expire` (docs/loyalty.md): programmes and their
// items into the ledger table, a member's statement, the parallel run against the legacy export,
// a partner's monthly settlement, the expiry run by hand.
import { existsSync, readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { EXIT, UsageError, report, type CliFlags, type Printer } from '../basics.ts';
import type { ItemsContext } from './items.ts';

type Act = <A extends unknown[]>(work: (flags: CliFlags, ...args: A) => Promise<number> | number) => (...params: unknown[]) => Promise<void>;
type Ctx = ItemsContext & Required<Printer>;
type On = (flags: CliFlags, work: (ctx: Ctx) => Promise<number>) => Promise<number>;

async function loyaltyOf(ctx: Ctx) {
  const [{ DynamoLoyaltyItems }, { DynamoLoyaltyLedger }, { createLoyalty }] = await Promise.all([
    import('../../lib/adapters/dynamo/loyalty-items.ts'),
    import('../../lib/adapters/dynamo/loyalty.ts'),
    import('../../lib/app/loyalty.ts'),
  ]);
  const items = new DynamoLoyaltyItems(ctx.db, ctx.names.ledger, { refreshMs: 0, onRejected: (r) => ctx.err(`skipped ${r.sk} of programme ${r.programmeId}: ${r.reason}`) });
  const ledger = new DynamoLoyaltyLedger(ctx.db, ctx.names.ledger);
  return { items, ledger, loyalty: createLoyalty({ ledger, programmes: items }) };
}

async function customerIdOf(ctx: Ctx, ref: string): Promise<string | undefined> {
  if (ref.startsWith('cus-')) return ref;
  const { findCustomer } = await import('../io.ts');
  const found = await findCustomer(ctx.db, ctx.names, ref);
  return found.status === 'found' ? found.customerIds[0] : undefined;
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

export function registerLoyalty(root: Command, act: Act, on: On): void {
  const g = root.command('loyalty').description('loyalty programmes, the points ledger, reconciliation and partner settlement (docs/loyalty.md)');
  const programme = () => new Option('--programme <programmeId>', 'the programme (default: the only one the customer is in)');

  g.command('put')
    .description('check, then write programmes, promotions, partners and rewards (JSON or YAML: one item or a list)')
    .argument('<files...>')
    .action(act((flags, files: string[]) => on(flags, async (ctx) => {
      const { readItemFile } = await import('../io.ts');
      const { items } = await loyaltyOf(ctx);
      const { InvalidLoyaltyItem } = await import('../../lib/adapters/dynamo/loyalty-items.ts');
      // Programmes first: their items are refused without them.
      const all = files.flatMap((f) => readItemFile(f, 'items', 'loyalty item')).sort((a, b) => Number(isProgramme(b)) - Number(isProgramme(a)));
      let refused = 0;
      for (const item of all) {
        try {
          const v = await items.put(item);
          ctx.err(`wrote ${v.kind} ${idOf(v.item)}`);
        } catch (err) {
          if (!(err instanceof InvalidLoyaltyItem)) throw err;
          refused++;
          ctx.err(`refused: ${err.message}`);
        }
      }
      return refused ? EXIT.problem : EXIT.ok;
    })));

  g.command('statement')
    .description('a member\'s balance, next expiry and entries: "you have 1,240 points, 300 expire on 31 March"')
    .argument('<customer>', 'any external id or customerId')
    .addOption(programme())
    .action(act((flags, ref: string) => on(flags, async (ctx) => {
      const { statementLine } = await import('../../lib/core/loyalty/ledger.ts');
      const { ledger, loyalty } = await loyaltyOf(ctx);
      const customerId = await customerIdOf(ctx, ref);
      if (!customerId) return ctx.err(`no customer for "${ref}"`), EXIT.problem;
      const programmes = flags.programme ? [String(flags.programme)] : await ledger.programmesOf(customerId);
      if (!programmes.length) return ctx.err(`customer ${customerId} is in no programme`), EXIT.problem;
      const statements = [];
      for (const p of programmes) {
        const s = await loyalty.statement(p, customerId);
        if (s) statements.push({ ...s, line: statementLine(s) });
      }
      if (!statements.length) return ctx.err(`customer ${customerId} is not a member of ${programmes.join(', ')}`), EXIT.problem;
      report(flags, ctx, statements, (list) =>
        list.flatMap((s) => [
          `${s.programmeId}: ${s.line}${s.tier ? ` (tier ${s.tier})` : ''}`,
          ...s.entries.map((e) => `  ${e.at.slice(0, 10)}  ${e.kind.padEnd(10)} ${String(e.points).padStart(8)}  ${e.txId}${e.ruleId ? `  rule ${e.ruleId}` : ''}${e.promotionId ? `  promotion ${e.promotionId}` : ''}`),
        ]),
      );
      return EXIT.ok;
    })));

  g.command('reconcile')
    .description('the parallel run: replay the legacy export through Baton\'s rules (a dry run, nothing written) and compare per transaction')
    .requiredOption('--legacy <csv>', `the legacy export (columns transactionId, customerId, occurredAt, currency, total, lines, partnerId, points)`)
    .requiredOption('--programme <programmeId>', 'the programme whose rules replay it')
    .option('--top <n>', 'how many causes and differences to list', '10')
    .action(act((flags) => on(flags, async (ctx) => {
      const path = String(flags.legacy);
      if (!existsSync(path)) throw new UsageError(`--legacy: ${path}: no such file (expected a CSV export)`);
      const { readLegacyCsv, reconcile } = await import('../../lib/core/loyalty/reconcile.ts');
      const { items } = await loyaltyOf(ctx);
      const book = await items.load(String(flags.programme));
      if (!book) return ctx.err(`no programme ${String(flags.programme)}`), EXIT.problem;
      const { rows, unreadable } = readLegacyCsv(readFileSync(path, 'utf8'));
      const r = reconcile(book, rows, unreadable);
      const top = Number(flags.top) || 10;
      report(flags, ctx, r, (x) => [
        `${x.total.toLocaleString('en-US')} transactions: ${x.agreed.toLocaleString('en-US')} agreed, ${x.differed} differed, ${x.missing} missing; discrepancy rate ${(x.discrepancyRate * 100).toFixed(3)} %`,
        ...(x.causes.length ? ['top causes:', ...x.causes.slice(0, top).map((c) => `  ${String(c.transactions).padStart(6)}  ${c.cause} (${c.points} points)`)] : []),
        ...(x.differences.length ? ['differences:', ...x.differences.slice(0, top).map((d) => `  ${d.transactionId}: legacy ${d.legacy}, Baton ${d.baton} (${d.baton - d.legacy > 0 ? '+' : ''}${d.baton - d.legacy}; rules ${d.rules.join(', ') || 'none'}): ${d.cause}`)] : []),
        ...x.unreadable.slice(0, top).map((u) => `  line ${u.line}: ${u.reason}`),
      ]);
      return EXIT.ok;
    })));

  g.command('settlement')
    .description('a partner\'s month: points it funded, points redeemed at it, and what it owes (+) or is owed (−)')
    .requiredOption('--partner <partnerId>', 'the partner')
    .requiredOption('--month <yyyy-mm>', 'the month, e.g. 2026-11')
    .requiredOption('--programme <programmeId>', 'the programme')
    .option('--csv', 'one CSV line with a header instead of text')
    .action(act((flags) => on(flags, async (ctx) => {
      const month = String(flags.month);
      if (!MONTH.test(month)) throw new UsageError('--month must be a month such as 2026-11');
      const { loyalty } = await loyaltyOf(ctx);
      const s = await loyalty.settlement(String(flags.programme), String(flags.partner), month);
      if (flags.csv) {
        ctx.out('programmeId,partnerId,month,funded,redeemed,pointValue,currency,owes');
        ctx.out([s.programmeId, s.partnerId, s.month, s.funded, s.redeemed, s.pointValue, s.currency, s.owes.toFixed(2)].join(','));
      } else {
        report(flags, ctx, s, (x) => [`${x.partnerId} in ${x.month}: funded ${x.funded} points, ${x.redeemed} redeemed there; ${x.owes >= 0 ? `owes ${x.owes.toFixed(2)}` : `is owed ${(-x.owes).toFixed(2)}`} ${x.currency}`]);
      }
      return EXIT.ok;
    })));

  g.command('expire')
    .description('the daily expiry run by hand: write off the lots due, publish nothing (the scheduled run publishes)')
    .requiredOption('--programme <programmeId>', 'the programme')
    .action(act((flags) => on(flags, async (ctx) => {
      const { loyalty } = await loyaltyOf(ctx);
      const r = await loyalty.expire(String(flags.programme));
      report(flags, ctx, r, (x) => [`expired ${x.expired} lots, ${x.points} points; ${x.warned} expiring soon`]);
      return EXIT.ok;
    })));
}

const isProgramme = (item: unknown) => item !== null && typeof item === 'object' && 'programmeId' in item && !['promotionId', 'partnerId', 'rewardId'].some((k) => k in item);
const idOf = (item: Record<string, unknown> | object) => {
  const o = item as Record<string, unknown>;
  return String(o.promotionId ?? o.rewardId ?? o.partnerId ?? o.programmeId);
};
