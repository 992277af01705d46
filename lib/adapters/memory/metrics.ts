import type { MetricDimensions, MetricName, Metrics } from '../../app/ports.ts';

export class MemoryMetrics implements Metrics {
  readonly counts: Partial<Record<MetricName, number>> = {};
  /** Figures counted with dimensions, keyed `Name{dim=value,…}` (dimension names sorted). */
  readonly byDimensions: Record<string, number> = {};
  count(name: MetricName, value = 1, dimensions?: MetricDimensions): void {
    this.counts[name] = (this.counts[name] ?? 0) + value;
    if (!dimensions) return;
    const key = `${name}{${Object.keys(dimensions).sort().map((k) => `${k}=${dimensions[k]}`).join(',')}}`;
    this.byDimensions[key] = (this.byDimensions[key] ?? 0) + value;
  }
}
