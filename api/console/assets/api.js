// @ts-check
import { signRequest } from './tusk-crypto.js';

/** An answer of the API other than 2xx, with its code and reason. */
export class ApiError extends Error {
  name = 'ApiError';
  /** @param {number} status @param {string} code @param {string} reason */
  constructor(status, code, reason) {
    super(`${status} ${code}: ${reason}`);
    this.status = status;
    this.code = code;
    this.reason = reason;
  }
}

/**
 * A party's signed client, same origin. Credentials are never sent (no cookies): the API trusts only
 * the signature, which a page on another origin cannot make without the key.
 */
export class Client {
  lastTimestamp = 0;
  /**
   * @param {string} partyId @param {import('./tusk-crypto.js').HeldKey} signingKey
   * @param {string} [operatorKey] the operator's log key the person pinned (public, not a secret)
   */
  constructor(partyId, signingKey, operatorKey = '') {
    this.partyId = partyId;
    this.signingKey = signingKey;
    this.operatorKey = operatorKey;
  }

  /**
   * @param {string} method @param {string} path @param {unknown} [body]
   * @param {Record<string, string>} [unsigned] headers sent beside the signature (a subscription's access token)
   */
  request(method, path, body, unsigned = {}) {
    return body === undefined
      ? this.send(method, path, '', undefined, unsigned)
      : this.send(method, path, JSON.stringify(body), 'application/json', unsigned);
  }

  /**
   * @param {string} method @param {string} path @param {string} text @param {string | undefined} contentType
   * @param {Record<string, string>} [unsigned] headers sent beside the signature
   */
  async send(method, path, text, contentType, unsigned = {}) {
    const response = await this.fetchSigned(method, path, text, contentType, unsigned);
    const json = await response.json().catch(() => ({}));
    if (!response.ok)
      throw new ApiError(response.status, json.code ?? 'unknown', json.reason ?? response.statusText);
    return json;
  }

  /**
   * @param {string} method @param {string} path @param {string} text @param {string | undefined} contentType
   * @param {Record<string, string>} unsigned headers sent beside the signature
   */
  async fetchSigned(method, path, text, contentType, unsigned) {
    // The API accepts each signed request once: two identical requests need distinct timestamps.
    this.lastTimestamp = Math.max(Date.now(), this.lastTimestamp + 1);
    /** @type {Record<string, string>} */
    const headers = await signRequest(this.partyId, this.signingKey.privateKey, {
      method,
      url: path,
      body: text,
      timestamp: this.lastTimestamp,
    });
    if (contentType !== undefined) headers['content-type'] = contentType;
    return fetch(path, {
      method,
      headers: { ...unsigned, ...headers },
      credentials: 'omit',
      ...(contentType === undefined ? {} : { body: text }),
    });
  }

  /** A signed GET of a file the API renders (a receipt's PDF): its bytes. @param {string} path */
  async getFile(path) {
    const response = await this.fetchSigned('GET', path, '', undefined, {});
    if (!response.ok) {
      const json = await response.json().catch(() => ({}));
      throw new ApiError(response.status, json.code ?? 'unknown', json.reason ?? response.statusText);
    }
    return response.blob();
  }

  /** @param {string} path */
  get(path) {
    return this.request('GET', path);
  }

  /** @param {string} path @param {unknown} body */
  post(path, body) {
    return this.request('POST', path, body);
  }

  /** Bytes for the blob store (POST /blobs), given as their text. @param {string} text */
  putBlob(text) {
    return this.send('POST', '/blobs', text, 'application/octet-stream');
  }
}

/** What a person reads for a failed call: a refused key says so plainly. @param {unknown} error */
export function explain(error) {
  if (error instanceof ApiError && error.status === 401)
    return `The API refused the key: ${error.reason}. Check the party id and that this is the key registered for it.`;
  if (error instanceof ApiError) return `The API refused: ${error.reason} (${error.code})`;
  return error instanceof Error ? error.message : JSON.stringify(error);
}
