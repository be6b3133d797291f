import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Party, PartyRegistry, PartyRole } from '../lib/parties';
import {
  MAX_CLOCK_SKEW_MS,
  PARTY_HEADER,
  SIGNATURE_HEADER,
  signedRequestDigest,
  TIMESTAMP_HEADER,
  verifyRequestSignature,
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

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

export const NOT_SIGNED_BY_PARTY =
  'the request is not signed by a key registered for this party id (unknown id or wrong key)';

/** The keys a party's requests may be signed with, beyond its registered one: its current logged keys. */
export type LoggedKeys = (partyId: string) => { role: PartyRole; publicKey: string }[];

/** Who signed: the registered party whose key verifies, or a party known by a key the log registered. */
function signingParty(
  request: FastifyRequest,
  partyId: string,
  parties: PartyRegistry,
  loggedKeys: LoggedKeys | undefined,
  verifies: (publicKey: string) => boolean,
): Party {
  const party = parties.get(partyId);
  const logged = request.routeOptions.config.loggedKeysSign && loggedKeys ? loggedKeys(partyId) : [];
  if (party && verifies(party.publicKey)) return party;
  const byLog = logged.find((key) => verifies(key.publicKey));
  // One refusal for an unknown id and a wrong key alike: an unsigned caller learns nothing about
  // which party ids exist.
  if (!byLog) throw new ApiError('unauthenticated', NOT_SIGNED_BY_PARTY);
  return party ?? { id: partyId, role: byLog.role, publicKey: byLog.publicKey };
}

async function authenticate(
  request: FastifyRequest,
  parties: PartyRegistry,
  seen: SeenRequests,
  now: number,
  loggedKeys?: LoggedKeys,
): Promise<Party> {
  const partyId = header(request, PARTY_HEADER);
  const timestamp = Number(header(request, TIMESTAMP_HEADER));
  const signature = header(request, SIGNATURE_HEADER);
  if (!partyId || !signature || !Number.isFinite(timestamp)) {
    throw new ApiError(
      'unauthenticated',
      `sign the request: headers ${PARTY_HEADER}, ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} are required`,
    );
  }
  if (Math.abs(now - timestamp) > MAX_CLOCK_SKEW_MS) {
    throw new ApiError(
      'unauthenticated',
      'the request timestamp is more than 5 minutes from the server clock',
    );
  }
  const signed = { method: request.method, url: request.url, body: request.rawBody ?? '', timestamp };
  const party = signingParty(request, partyId, parties, loggedKeys, (publicKey) =>
    verifyRequestSignature(publicKey, signed, signature),
  );
  // Remembered until the timestamp itself would be refused, so the window has no gap.
  const ttlMs = timestamp + MAX_CLOCK_SKEW_MS - now + 1000;
  const firstTime = await seen.firstTime(signedRequestDigest(partyId, signed), ttlMs).catch(() => {
    throw new ApiError(
      'replay_check_unavailable',
      'the request cannot be checked against replays right now; try again shortly',
    );
  });
  if (!firstTime) {
    throw new ApiError(
      'request_replayed',
      'this signed request was already accepted once; sign each request afresh with a new timestamp',
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
 * Every route but the public ones needs an Ed25519-signed request from a registered party. The
 * signature covers the exact bytes of any body; only JSON and octet-stream bodies are accepted.
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
