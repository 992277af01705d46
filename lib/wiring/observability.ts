// Powertools logger and metrics, shared by every handler. Metrics go out as CloudWatch EMF log
// lines; the domain sees only the small Metrics port. On Lambda, Powertools reads its own
// variables (POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_DISABLED, …); the local stack passes options.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics as PowertoolsMetrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Metrics } from '../app/ports.ts';
import { METRICS_NAMESPACE } from '../contract/metrics.ts';

export interface ObservabilityOptions {
  /** Overrides POWERTOOLS_LOG_LEVEL. @default - Powertools' own (the environment, else INFO) */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** false counts nothing, so no EMF line is written. @default true */
  readonly metrics?: boolean;
}

export interface Observability {
  readonly logger: Logger;
  readonly metrics: PowertoolsMetrics;
  readonly port: Metrics;
}

export function observability(serviceName: string, options: ObservabilityOptions = {}): Observability {
  const logger = new Logger({ serviceName, ...(options.logLevel ? { logLevel: options.logLevel } : {}) });
  const metrics = new PowertoolsMetrics({
    namespace: METRICS_NAMESPACE,
    serviceName,
    // An invocation with nothing to count (a stream batch of status updates) is normal, not a warning.
    logger: {
      trace: (...a: unknown[]) => logger.trace(String(a[0])),
      debug: (...a: unknown[]) => logger.debug(String(a[0])),
      info: (...a: unknown[]) => logger.info(String(a[0])),
      warn: (...a: unknown[]) => logger.debug(String(a[0])),
      error: (...a: unknown[]) => logger.error(String(a[0])),
    },
  });
  const port: Metrics =
    options.metrics === false
      ? { count: () => undefined }
      : {
          count: (name, value = 1, dimensions) => {
            if (!dimensions) return metrics.addMetric(name, MetricUnit.Count, value);
            // A figure per dimension value is a line of its own (with the service dimension).
            const single = metrics.singleMetric();
            single.addDimensions({ ...dimensions });
            single.addMetric(name, MetricUnit.Count, value);
          },
        };
  return { logger, metrics, port };
}
