/**
 * The API under load on loopback: a real API process (pino logs, rate limit in Redis, load
 * shedding, security headers) answering signed `GET /templates` from many parties at once.
 * Connections double every step (1, 2, 4, …) for a few seconds each until the API starts shedding
 * load (503) or the largest step ran. Prints requests/s, p50/p99 latency and the status counts of
 * every step, and the step where shedding started. Bounded: at most `--max-connections` and
 * `--seconds` per step. The load generator signs every request (Ed25519) on the same machine.
 * Usage: npm run bench:api -- [--seconds 5] [--max-connections 256] [--shed-delay-ms 100] [--smoke]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon, { type Result } from 'autocannon';
import { generateEd25519KeyPair } from '../lib/ed25519';
import { signRequest } from '../lib/signed-request';
import { startService } from '../scripts/lib/services';
import { freeLoopbackPorts, startStack } from '../stack/launcher';

const PARTIES = 64;

function row(connections: number, result: Result): string {
  const codes = Object.entries(result.statusCodeStats ?? {})
    .map(([code, { count }]) => `${code}×${count}`)
    .join(' ');
  return `${String(connections).padStart(5)}  ${result.requests.average.toFixed(0).padStart(7)}  ${result.latency.p50.toFixed(0).padStart(6)}  ${result.latency.p99.toFixed(0).padStart(6)}  ${codes}${result.errors ? ` errors×${result.errors}` : ''}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      'max-connections': { type: 'string' },
      'shed-delay-ms': { type: 'string', default: '100' },
      smoke: { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds ?? (values.smoke ? 1 : 5));
  const maxConnections = Number(values['max-connections'] ?? (values.smoke ? 2 : 256));
  const home = await mkdtemp(join(tmpdir(), 'tusk-bench-api-'));
  const stack = await startStack({ dataDir: join(home, 'stack'), log: () => undefined });
  try {
    const parties = Array.from({ length: PARTIES }, (_, i) => ({
      id: `load-${i}`,
      role: 'buyer' as const,
      keys: generateEd25519KeyPair(),
    }));
    await writeFile(
      join(home, 'parties.json'),
      JSON.stringify({
        parties: parties.map(({ id, role, keys }) => ({ id, role, publicKey: keys.publicKey })),
      }),
    );
    const [port] = await freeLoopbackPorts(1);
    const api = await startService({
      name: 'api',
      script: 'api/server.ts',
      logDir: home,
      env: {
        TUSK_HOME: home,
        TEMPORAL_ADDRESS: stack.temporalAddress,
        REDIS_URL: stack.redisUrl,
        TUSK_PARTIES_FILE: join(home, 'parties.json'),
        TUSK_POLICIES_ROOT: resolve('query-policies'),
        TUSK_CODEC_KEY_FILE: join(home, 'codec-keys.json'),
        TUSK_API_PORT: String(port),
        TUSK_LOG_LEVEL: 'warn',
        TUSK_SHED_EVENT_LOOP_DELAY_MS: values['shed-delay-ms'],
        // Limits are per party; here the question is how much the whole process takes.
        TUSK_RATE_LIMIT_MAX: '100000000',
      },
    });
    try {
      let next = 0;
      let lastTimestamp = 0;
      const signed = () => {
        const party = parties[next++ % PARTIES]!;
        const timestamp = (lastTimestamp = Math.max(Date.now(), lastTimestamp + 1));
        return signRequest(party.id, party.keys.privateKeyPem, {
          method: 'GET',
          url: '/templates',
          body: '',
          timestamp,
        });
      };
      console.log(
        `signed GET /templates, ${seconds} s per step, shedding when the event loop lags > ${values['shed-delay-ms']} ms`,
      );
      console.log('conns    req/s  p50 ms  p99 ms  statuses');
      let shedAt: { connections: number; result: Result } | undefined;
      let before: { connections: number; result: Result } | undefined;
      for (let connections = 1; connections <= maxConnections; connections *= 2) {
        const result = await autocannon({
          url: `http://127.0.0.1:${port}`,
          connections,
          duration: seconds,
          requests: [
            {
              method: 'GET',
              path: '/templates',
              setupRequest: (request) => ({ ...request, headers: signed() }),
            },
          ],
        });
        console.log(row(connections, result));
        if ((result.statusCodeStats?.['503']?.count ?? 0) > 0) {
          shedAt = { connections, result };
          break;
        }
        before = { connections, result };
      }
      if (shedAt) {
        const { connections, result } = shedAt;
        const shed = result.statusCodeStats?.['503']?.count ?? 0;
        console.log(
          `shedding started at ${connections} connections: ${result.requests.average.toFixed(0)} req/s, p99 ${result.latency.p99} ms, ` +
            `${shed} of ${result.requests.total} answered 503` +
            (before
              ? `; the step before: ${before.result.requests.average.toFixed(0)} req/s, p99 ${before.result.latency.p99} ms`
              : ''),
        );
      } else if (before) {
        console.log(
          `no shedding up to ${before.connections} connections: ${before.result.requests.average.toFixed(0)} req/s, p99 ${before.result.latency.p99} ms`,
        );
      }
    } finally {
      await api.stop();
    }
  } finally {
    await stack.stop();
    await rm(home, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
