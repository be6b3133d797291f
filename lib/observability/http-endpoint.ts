import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TuskMetrics } from './metrics';

export interface Health {
  healthy: boolean;
  detail: Record<string, unknown>;
}

export interface EndpointOptions {
  host: string;
  port: number;
  metrics: TuskMetrics;
  /** More Prometheus text appended to this process's own (the Temporal SDK's metrics). */
  moreMetrics?: () => Promise<string>;
  health: () => Health;
}

/** A worker's small HTTP endpoint: `GET /metrics` (Prometheus text) and `GET /health` (200 or 503, JSON). */
export async function serveHealthAndMetrics(
  options: EndpointOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/metrics') {
      void metricsText(options).then(
        (text) => {
          response.writeHead(200, { 'content-type': options.metrics.registry.contentType });
          response.end(text);
        },
        () => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end('metrics unavailable\n');
        },
      );
      return;
    }
    if (request.method === 'GET' && path === '/health') {
      const { healthy, detail } = options.health();
      response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: healthy ? 'ok' : 'unavailable', pid: process.pid, ...detail }));
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ code: 'not_found', reason: 'GET /metrics or /health' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function metricsText(options: EndpointOptions): Promise<string> {
  const own = await options.metrics.registry.metrics();
  const more = options.moreMetrics ? await options.moreMetrics().catch(() => '') : '';
  return more ? `${own}\n${more}` : own;
}
