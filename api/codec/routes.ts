import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireRole } from '../auth';
import { errorResponses } from '../error-responses';
import { codecParams, codecPayloads, temporalUiSettings } from './schemas';
import type { CodecService } from './service';

export interface CodecRouteOptions {
  codec: CodecService;
  /** The Temporal Web UI's origin: the only one a browser may call the token routes from. */
  uiOrigin: string;
  /** The Temporal namespace the lifecycles run in (the UI's links name it). */
  namespace: string;
}

/** Histories are small JSON, but a page of events can carry many payloads. */
const CODEC_BODY_LIMIT = 4 * 1024 * 1024;
const schema = (summary: string) => ({
  summary,
  body: codecPayloads,
  response: { 200: codecPayloads, ...errorResponses },
});

/**
 * The Temporal codec server protocol (POST …/encode and …/decode with `{ payloads }`), twice over:
 * under `/codec/` for a signed request by an operator party (tooling), and under `/codec/<token>/`
 * for the Web UI (`--ui-codec-endpoint http://host:port/codec/<TUSK_CODEC_TOKEN>`), which cannot sign.
 */
export const codecRoutes: FastifyPluginAsyncZod<CodecRouteOptions> = async (
  app,
  { codec, uiOrigin, namespace },
) => {
  const cors = (reply: FastifyReply) =>
    reply
      .header('access-control-allow-origin', uiOrigin)
      .header('vary', 'origin')
      .header('access-control-allow-methods', 'POST, OPTIONS')
      .header('access-control-allow-headers', 'content-type, x-namespace, authorization');

  for (const direction of ['encode', 'decode'] as const) {
    app.post(
      `/codec/${direction}`,
      { bodyLimit: CODEC_BODY_LIMIT, schema: schema(`History codec: ${direction} payloads (operator only)`) },
      (request) => {
        requireRole(request, 'operator');
        return codec.run(direction, request.body);
      },
    );
    app.post(
      `/codec/:token/${direction}`,
      {
        bodyLimit: CODEC_BODY_LIMIT,
        config: { public: true },
        schema: { ...schema(`History codec for the Temporal Web UI: ${direction}`), params: codecParams },
      },
      (request, reply) => {
        cors(reply);
        codec.checkToken(request.params.token);
        return codec.run(direction, request.body);
      },
    );
    app.options(
      `/codec/:token/${direction}`,
      { config: { public: true }, schema: { hide: true } },
      (_request, reply) => cors(reply).status(204).send(),
    );
  }

  app.get(
    '/operator/temporal-ui',
    {
      schema: {
        summary:
          "The operator's Temporal Web UI and namespace, for links to each lifecycle (operator only; no token)",
        response: { 200: temporalUiSettings, ...errorResponses },
      },
    },
    (request) => {
      requireRole(request, 'operator');
      return { uiUrl: uiOrigin, namespace, codecTokenRoute: codec.tokenRouteOn };
    },
  );
};
