// Powertools logger and metrics, shared by every handler. Metrics go out as CloudWatch EMF log
// lines; the domain sees only the small Metrics port.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics as PowertoolsMetrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Metrics } from '../app/ports.ts';
import { METRICS_NAMESPACE } from '../contract/metrics.ts';


export function observability(serviceName: string): { logger: Logger; metrics: PowertoolsMetrics; port: Metrics } {
  const logger = new Logger({ serviceName });
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
  return { logger, metrics, port: { count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value) } };
}
