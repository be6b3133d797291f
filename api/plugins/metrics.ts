import type { FastifyInstance } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import type { TuskMetrics } from '../../lib/observability/metrics';

/** The routes that start a lifecycle, and the kind each starts. */
const STARTS: Record<string, string> = {
  '/deals': 'cohort_query',
  '/multi-seller-deals': 'multi_seller',
  '/subscriptions': 'subscription',
  '/grants': 'grant',
  '/deals/:dealId/dispute': 'dispute',
  '/disclosures': 'disclosure',
};

/**
 * `GET /metrics` (Prometheus text, unsigned like /health): requests by route and status, their
 * duration, and the lifecycles started by kind. Routes are counted by their pattern, never by an id.
 */
export async function registerMetrics(app: FastifyInstance, metrics: TuskMetrics): Promise<void> {
  const requests = new Counter({
    name: 'tusk_http_requests_total',
    help: 'API requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers: [metrics.registry],
  });
  const duration = new Histogram({
    name: 'tusk_http_request_duration_seconds',
    help: 'API request duration by method and route pattern',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [metrics.registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    const kind = STARTS[route];
    if (kind && request.method === 'POST' && reply.statusCode === 201)
      metrics.lifecyclesStarted.inc({ kind });
  });
  app.get(
    '/metrics',
    { config: { public: true, rateLimit: false }, schema: { hide: true } },
    async (_request, reply) =>
      reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
