import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/**
 * The console's own policy: scripts and styles from this origin only (no inline script or style
 * attribute), no plugins, no <base>, never framed. It replaces helmet's broader default on these routes.
 */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export const CONSOLE_ASSETS = join(__dirname, 'assets');

/**
 * The web console under /console/: static files only, public (they hold no data; every call the page
 * makes to the API is signed in the browser with keys that never leave it).
 */
export const consoleRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, public: true };
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', CONSOLE_CSP);
    reply.header('cache-control', 'no-store');
    return payload;
  });
  await app.register(fastifyStatic, { root: CONSOLE_ASSETS, prefix: '/console/', redirect: true });
};
