// Uplift: did the programme (or a campaign) change what customers do? Treatment customers were
// sent to; control customers (the global control group, or a campaign's holdout) were not. For
// each group: size, conversions (the goal reached within the window), the conversion rate and
// revenue per customer; then the uplift, the difference of the two rates, with a 95 % interval.
//
// The interval is Newcombe's hybrid score interval (method 10 of Newcombe 1998) built from the
// two Wilson score intervals. Why not the normal ("Wald") approximation: at the low conversion
// rates of marketing (often 0.5 to 5 %) and small control groups, Wald intervals are too narrow
// and can leave [-1, 1]; with zero conversions in a group they collapse to a point. Newcombe's
// interval keeps close to 95 % coverage there and needs only closed-form arithmetic.

/** The 97.5 % quantile of the standard normal: a two-sided 95 % interval. */
export const Z95 = 1.959963984540054;

export interface GroupOutcome {
  /** Customers in the group. */
  readonly customers: number;
  /** Customers who reached the goal (each counted once). */
  readonly conversions: number;
  /** Revenue from those customers in the window, in the currency's major unit. */
  readonly revenue?: number;
}

export interface GroupFigures extends Required<GroupOutcome> {
  readonly rate: number;
  readonly revenuePerCustomer: number;
}

export interface Uplift {
  readonly treatment: GroupFigures;
  readonly control: GroupFigures;
  /** treatment rate − control rate (absolute, in proportion points). */
  readonly uplift: number;
  /** Newcombe's 95 % interval for the uplift; undefined when a group is empty. */
  readonly interval: readonly [number, number] | undefined;
  /** uplift / control rate; undefined when the control rate is 0. */
  readonly relativeUplift: number | undefined;
  /** Revenue per customer, treatment minus control. */
  readonly revenueUpliftPerCustomer: number;
}

/** Wilson's score interval for a proportion of `x` in `n`. */
export function wilson(x: number, n: number, z = Z95): [number, number] {
  if (n <= 0) throw new RangeError('wilson: n must be positive');
  if (x < 0 || x > n) throw new RangeError('wilson: conversions must be between 0 and the group size');
  const p = x / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Newcombe's hybrid score interval for p1 − p2. */
export function newcombe(x1: number, n1: number, x2: number, n2: number, z = Z95): [number, number] {
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const [l1, u1] = wilson(x1, n1, z);
  const [l2, u2] = wilson(x2, n2, z);
  const d = p1 - p2;
  return [d - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)];
}

function figures(g: GroupOutcome): GroupFigures {
  const revenue = g.revenue ?? 0;
  return {
    customers: g.customers,
    conversions: g.conversions,
    revenue,
    rate: g.customers > 0 ? g.conversions / g.customers : 0,
    revenuePerCustomer: g.customers > 0 ? revenue / g.customers : 0,
  };
}

export function uplift(treatment: GroupOutcome, control: GroupOutcome): Uplift {
  for (const [name, g] of [['treatment', treatment], ['control', control]] as const) {
    if (!Number.isInteger(g.customers) || g.customers < 0) throw new RangeError(`${name}.customers must be a whole number of at least 0`);
    if (!Number.isInteger(g.conversions) || g.conversions < 0 || g.conversions > g.customers) {
      throw new RangeError(`${name}.conversions must be a whole number from 0 to ${name}.customers`);
    }
  }
  const t = figures(treatment);
  const c = figures(control);
  const both = t.customers > 0 && c.customers > 0;
  return {
    treatment: t,
    control: c,
    uplift: t.rate - c.rate,
    interval: both ? newcombe(t.conversions, t.customers, c.conversions, c.customers) : undefined,
    relativeUplift: c.rate > 0 ? (t.rate - c.rate) / c.rate : undefined,
    revenueUpliftPerCustomer: t.revenuePerCustomer - c.revenuePerCustomer,
  };
}
