import { randomBytes } from 'node:crypto';
import { sha256Ref } from './canonical-json';

/** Header a subscriber presents its current access token in. */
export const ACCESS_TOKEN_HEADER = 'x-tusk-access-token';

/** A fresh bearer token (32 random bytes, base64url). Only its hash is ever recorded. */
export function generateAccessToken(): string {
  return randomBytes(32).toString('base64url');
}

export function accessTokenHash(token: string): string {
  return sha256Ref(token);
}

/** Bound into the sealed box, so a token box cannot be passed off as another period's. */
export function accessTokenContext(subscriptionId: string, period: number): string {
  return `tusk access token ${subscriptionId} ${period}`;
}
