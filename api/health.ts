import { z } from 'zod';
import type { Client } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

const health = z.object({ status: z.enum(['ok', 'degraded']), temporal: z.enum(['up', 'down']) });

export const healthRoutes: FastifyPluginAsyncZod<{ temporal: Client }> = async (app, { temporal }) => {
  app.get(
    '/health',
    {
      config: { public: true },
      schema: { summary: 'Liveness, and whether Temporal answers', response: { 200: health, 503: health } },
    },
    async (_request, reply) => {
      const up = await temporal.connection.workflowService
        .getSystemInfo({})
        .then(() => true)
        .catch(() => false);
      return reply
        .status(up ? 200 : 503)
        .send({ status: up ? 'ok' : 'degraded', temporal: up ? 'up' : 'down' });
    },
  );
};
