import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Party, PartyRegistry, PartyRole } from '../lib/parties';
import {
  MAX_CLOCK_SKEW_MS,
  PARTY_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyRequestSignature,
} from '../lib/signed-request';
import { ApiError } from './errors';

declare module 'fastify' {
  interface FastifyRequest {
    party?: Party;
    rawBody?: string | Buffer;
  }
  interface FastifyContextConfig {
    /** Routes anyone may call unsigned (health, docs). */
    public?: boolean;
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function authenticate(request: FastifyRequest, parties: PartyRegistry, now: number): Party {
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
  const party = parties.get(partyId);
  const signed = { method: request.method, url: request.url, body: request.rawBody ?? '', timestamp };
  if (!party || !verifyRequestSignature(party.publicKey, signed, signature)) {
    throw new ApiError('unauthenticated', 'the request signature does not verify for this party');
  }
  return party;
}

/** Every route but the public ones needs an Ed25519-signed request from a registered party. */
export function installRequestSigning(app: FastifyInstance, parties: PartyRegistry): void {
  // Keep the exact body bytes: the signature covers them, not a re-serialisation.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new ApiError('invalid_request', 'the body is not valid JSON'), undefined);
    }
  });
  // Blob uploads (HE keys, encrypted selections): the bytes as they came.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body;
    done(null, body);
  });
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.config.public) return;
    request.party = authenticate(request, parties, Date.now());
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
