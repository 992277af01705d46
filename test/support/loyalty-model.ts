// An independent model of the points ledger, written from the programme's rules in docs/loyalty.md
// (it never calls lib/): 1 point per EUR, electronics ×2, rounded down per sale; points held in
// lots that expire at the end of the 12th month; spending and expiry oldest lot first; a refund
// reverses its sale's points in proportion to everything refunded so far (rounded down), from the
// sale's own lot first, and never more than the balance holds; a transaction id counts once.

export interface ModelLine { category: string; quantity: number; unitPrice: number }
interface ModelLot { id: string; earnedAt: string; expiresAt: string; left: number }
interface ModelSale { total: number; earned: number; refunded: number; reversed: number }
export interface ModelEntry { kind: string; txId: string; points: number }

export class LedgerModel {
  balance = new Map<string, number>();
  lots = new Map<string, ModelLot[]>();
  sales = new Map<string, ModelSale>();
  entries = new Map<string, ModelEntry[]>();
  seen = new Set<string>();

  enrol(c: string) {
    if (!this.balance.has(c)) [this.balance, this.lots, this.entries].forEach((m) => (m as Map<string, unknown>).set(c, m === this.balance ? 0 : []));
  }

  private once(c: string, txId: string): boolean {
    const key = `${c}|${txId}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  private take(c: string, points: number, first?: string): number {
    const lots = [...this.lots.get(c)!].sort((a, b) => (a.earnedAt === b.earnedAt ? (a.id < b.id ? -1 : 1) : a.earnedAt < b.earnedAt ? -1 : 1));
    if (first) lots.sort((a, b) => (a.id === first ? -1 : b.id === first ? 1 : 0));
    let left = points;
    for (const lot of lots) {
      const t = Math.min(lot.left, left);
      lot.left -= t;
      left -= t;
    }
    this.balance.set(c, this.balance.get(c)! - (points - left));
    return points - left;
  }

  sale(c: string, saleId: string, at: string, lines: ModelLine[]) {
    const txId = `sale:${saleId}`;
    if (!this.once(c, txId)) return;
    let raw = 0;
    for (const l of lines) raw += l.quantity * l.unitPrice * (l.category === 'electronics' ? 2 : 1);
    const points = Math.floor(raw + 1e-9);
    const total = lines.reduce((s, l) => s + l.quantity * l.unitPrice, 0);
    this.sales.set(`${c}|${saleId}`, { total, earned: points, refunded: 0, reversed: 0 });
    if (points === 0) return;
    const d = new Date(at);
    const expiresAt = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 13, 1) - 1).toISOString();
    this.lots.get(c)!.push({ id: txId, earnedAt: at, expiresAt, left: points });
    this.balance.set(c, this.balance.get(c)! + points);
    this.entries.get(c)!.push({ kind: 'accrual', txId, points });
  }

  refund(c: string, saleId: string, refundId: string, amount: number) {
    const s = this.sales.get(`${c}|${saleId}`);
    if (!s) return;
    const txId = `refund:${refundId}`;
    if (!this.once(c, txId)) return;
    const refunded = Math.min(s.total, s.refunded + amount);
    const due = Math.max(0, Math.min(s.earned, s.total > 0 ? Math.floor((s.earned * refunded) / s.total + 1e-9) : s.earned) - s.reversed);
    s.refunded = refunded;
    s.reversed += due;
    if (due === 0) return;
    const taken = this.take(c, Math.min(due, this.balance.get(c)!), `sale:${saleId}`);
    this.entries.get(c)!.push({ kind: 'reversal', txId, points: -taken });
  }

  redeem(c: string, txId: string, points: number): boolean {
    if (this.seen.has(`${c}|redeem:${txId}`)) return false;
    if (this.balance.get(c)! < points) return false;
    this.once(c, `redeem:${txId}`);
    this.take(c, points);
    this.entries.get(c)!.push({ kind: 'redemption', txId: `redeem:${txId}`, points: -points });
    return true;
  }

  expire(now: string) {
    for (const [c, lots] of this.lots) {
      for (const lot of [...lots].sort((a, b) => (a.earnedAt < b.earnedAt ? -1 : 1))) {
        if (lot.expiresAt > now || lot.left === 0) continue;
        if (!this.once(c, `expiry:${lot.id}`)) continue;
        this.entries.get(c)!.push({ kind: 'expiry', txId: `expiry:${lot.id}`, points: -lot.left });
        this.balance.set(c, this.balance.get(c)! - lot.left);
        lot.left = 0;
      }
    }
  }
}
