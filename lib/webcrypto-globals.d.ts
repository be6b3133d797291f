// Web Crypto's global names, as Node 20's types lack them: libraries written for the Web Crypto API
// (`@hpke/core`) declare their keys with these, and Node's `globalThis.crypto` is that API.
import type { webcrypto } from 'node:crypto';

declare global {
  type CryptoKey = webcrypto.CryptoKey;
  type JsonWebKey = webcrypto.JsonWebKey;
}
