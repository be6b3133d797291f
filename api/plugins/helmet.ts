import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/** Security headers on every response; the OpenAPI UI's own CSP (swagger-ui staticCSP) stays in force. */
export async function registerHelmet(app: FastifyInstance): Promise<void> {
  await app.register(helmet, { global: true });
}
