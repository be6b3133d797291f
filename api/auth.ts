import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Party, PartyRegistry, PartyRole } from '../lib/parties';
import {
  CONTENT_DIGEST_HEADER,
  MAX_CLOCK_SKEW_MS,
  SIGNATURE_HEADER,
  SIGNATURE_INPUT_HEADER,
  verifyRequest,
} from '../lib/signed-request';
import { ApiError } from './errors';
import type { SeenRequests } from './seen-requests';

declare module 'fastify' {
  interface FastifyRequest {
    party?: Party;
    rawBody?: string | Buffer;
  }
  interface FastifyContextConfig {
    /** Routes anyone may call unsigned (health, docs). */
    public?: boolean;
    /**
     * Routes a party may also sign with its current key of either purpose in the transparency log (its
     * perimeter's key): reading the key log needs no more. A retired key (superseded by a later
     * registration) is refused like any wrong key: an owner whose key was swapped gets 401, which its
     * `key check` names as such.
     */
    loggedKeysSign?: boolean;
  }
}

export const NOT_SIGNED_BY_PARTY =
  'the request is not signed by a key registered for this party id (unknown id or wrong key)';

/** The keys a party's requests may be signed with, beyond its registered one: its current logged keys. */
export type LoggedKeys = (partyId: string) => { role: PartyRole; publicKey: string }[];

const REFUSALS = {
  unsigned: `sign the request (RFC 9421): headers ${SIGNATURE_INPUT_HEADER}, ${SIGNATURE_HEADER} and ${CONTENT_DIGEST_HEADER} are required`,
  stale: 'the request was signed more than 5 minutes from the server clock',
  digest: `the ${CONTENT_DIGEST_HEADER} header is not the sha-256 of the body`,
  // One refusal for an unknown id and a wrong key alike: an unsigned caller learns nothing about
  // which party ids exist.
  signature: NOT_SIGNED_BY_PARTY,
} as const;

async function authenticate(
  request: FastifyRequest,
  parties: PartyRegistry,
  seen: SeenRequests,
  now: number,
  loggedKeys?: LoggedKeys,
): Promise<Party> {
  const logged = (partyId: string) =>
    request.routeOptions.config.loggedKeysSign && loggedKeys ? loggedKeys(partyId) : [];
  const keysOf = (partyId: string) => {
    const registered = parties.get(partyId)?.publicKey;
    return [...(registered ? [registered] : []), ...logged(partyId).map((key) => key.publicKey)];
  };
  const verdict = await verifyRequest(
    { method: request.method, url: request.url, body: request.rawBody ?? '', headers: request.headers },
    keysOf,
    now,
  );
  if (!verdict.ok) throw new ApiError('unauthenticated', REFUSALS[verdict.problem]);
  // A registered party signing with one of its logged keys (its perimeter's) acts as itself.
  const party = parties.get(verdict.partyId) ?? {
    id: verdict.partyId,
    role: logged(verdict.partyId).find((key) => key.publicKey === verdict.publicKey)!.role,
    publicKey: verdict.publicKey,
  };
  // Remembered until the signature itself would be refused as stale, so the window has no gap.
  const ttlMs = verdict.createdMs + MAX_CLOCK_SKEW_MS - now + 1000;
  const firstTime = await seen.firstTime(verdict.digest, ttlMs).catch(() => {
    throw new ApiError(
      'replay_check_unavailable',
      'the request cannot be checked against replays right now; try again shortly',
    );
  });
  if (!firstTime) {
    throw new ApiError(
      'request_replayed',
      'this signed request was already accepted once; sign each request afresh with a new nonce',
    );
  }
  return party;
}

/** JSON.parse, refusing `__proto__` keys: a schema would drop them silently from a record. */
function parseJson(text: string): unknown {
  return JSON.parse(text, (key, value: unknown) => {
    if (key === '__proto__')
      throw new ApiError('invalid_request', 'the body may not hold a key named __proto__');
    return value;
  });
}

/**
 * Every route but the public ones needs an RFC 9421 request signature (Ed25519) from a registered
 * party. It covers the exact bytes of any body, by their Content-Digest; only JSON and octet-stream bodies are accepted.
 */
export function installRequestSigning(
  app: FastifyInstance,
  parties: PartyRegistry,
  seen: SeenRequests,
  loggedKeys?: LoggedKeys,
): void {
  // Fastify's own parsers (JSON, text/plain) would hand a body on without keeping its bytes.
  app.removeAllContentTypeParsers();
  // Keep the exact body bytes: the signature covers them, not a re-serialisation.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, parseJson(text));
    } catch (error) {
      done(
        error instanceof ApiError ? error : new ApiError('invalid_request', 'the body is not valid JSON'),
        undefined,
      );
    }
  });
  // Blob uploads (HE keys, encrypted selections): the bytes as they came.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body;
    done(null, body);
  });
  app.addContentTypeParser('*', (request, _payload, done) => {
    const type = request.headers['content-type'] ?? 'none';
    done(
      new ApiError(
        'unsupported_media_type',
        `content type ${type} is not accepted: send application/json (or application/octet-stream to POST /blobs)`,
      ),
      undefined,
    );
  });
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.config.public) return;
    request.party = await authenticate(request, parties, seen, Date.now(), loggedKeys);
  });
}

export function requireParty(request: FastifyRequest): Party {
  if (!request.party) throw new ApiError('unauthenticated', 'this route needs a signed request');
  return request.party;
}

export function requireRole(request: FastifyRequest, role: PartyRole): Party {
  const party = requireParty(request);
  if (party.role !== role)
    throw new ApiError('forbidden', `only a ${role} may do this; ${party.id} is a ${party.role}`);
  return party;
}
