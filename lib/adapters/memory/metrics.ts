import type { MetricName, Metrics } from '../../app/ports.ts';

export class MemoryMetrics implements Metrics {
  readonly counts: Partial<Record<MetricName, number>> = {};
  count(name: MetricName, value = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + value;
  }
}
