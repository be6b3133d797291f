import { createServer } from 'node:net';
import { Runtime, type WorkerInterceptors } from '@temporalio/worker';
import type { Logger } from 'pino';
import { z } from 'zod';
import { activityMetricsInterceptor } from './activity-metrics';
import { type Health, serveHealthAndMetrics } from './http-endpoint';
import { createLogger } from './logger';
import { TuskMetrics } from './metrics';
import { PinoTemporalLogger } from './temporal-logger';

const telemetryEnv = z.object({
  /** Where this worker serves /metrics and /health: loopback unless set. */
  TUSK_METRICS_HOST: z.string().default('127.0.0.1'),
  /** 0 takes any free port; the ready line says which. */
  TUSK_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  /** Where the Temporal SDK serves its own Prometheus metrics (merged into /metrics); 0: any free port. */
  TUSK_SDK_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
});

export interface WorkerTelemetry {
  logger: Logger;
  metrics: TuskMetrics;
  /** Times and counts every activity the worker runs. */
  interceptors: WorkerInterceptors;
  /** Starts serving /metrics and /health; returns the base URL. */
  serve(health: () => Health): Promise<string>;
  close(): Promise<void>;
}

/**
 * Logs and metrics for a process that runs a Temporal worker. Must run before the worker's
 * connection is made: it installs the SDK's Runtime, which routes the SDK's own logs (and the
 * workflow and activity context loggers) into pino and exports the SDK's metrics.
 */
export async function startWorkerTelemetry(service: string): Promise<WorkerTelemetry> {
  const env = telemetryEnv.parse(process.env);
  const logger = createLogger(service);
  const metrics = new TuskMetrics(service);
  const sdkPort = env.TUSK_SDK_METRICS_PORT || (await freePort(env.TUSK_METRICS_HOST));
  const sdkAddress = `${env.TUSK_METRICS_HOST}:${sdkPort}`;
  Runtime.install({
    logger: new PinoTemporalLogger(logger),
    telemetryOptions: {
      logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } },
      metrics: { prometheus: { bindAddress: sdkAddress } },
    },
  });
  let close = async () => {};
  return {
    logger,
    metrics,
    interceptors: { activity: [activityMetricsInterceptor(metrics)] },
    async serve(health) {
      const endpoint = await serveHealthAndMetrics({
        host: env.TUSK_METRICS_HOST,
        port: env.TUSK_METRICS_PORT,
        metrics,
        moreMetrics: () => sdkMetrics(sdkAddress),
        health,
      });
      close = () => endpoint.close();
      return endpoint.url;
    },
    close: () => close(),
  };
}

/** Telemetry for a process without a Temporal worker (the notifier). */
export async function startPlainTelemetry(service: string) {
  const env = telemetryEnv.parse(process.env);
  const logger = createLogger(service);
  const metrics = new TuskMetrics(service);
  return {
    logger,
    metrics,
    serve: (health: () => Health) =>
      serveHealthAndMetrics({ host: env.TUSK_METRICS_HOST, port: env.TUSK_METRICS_PORT, metrics, health }),
  };
}

async function sdkMetrics(address: string): Promise<string> {
  const response = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(2_000) });
  return response.ok ? response.text() : '';
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
