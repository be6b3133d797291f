import { publicKeyOf } from './ed25519';
import { randomBytes } from 'node:crypto';
import {
  DEFAULT_DECISION_TTL_MS,
  signDecision,
  type DecisionAction,
  type DecisionScope,
} from './signed-decision';
import { signRequest } from './signed-request';
import {
  signTerms,
  TERMS_SIGNATURE_FIELD,
  withSignedMoney,
  type SignedTerms,
  type TermsBody,
  type TermsKind,
} from './signed-terms';

const OVERLOADED_TRIES = 5;
/** How many times (every half second) a signer reads a status that shows no decision scope yet. */
const SCOPE_TRIES = 20;

export class TuskApiError extends Error {
  override name = 'TuskApiError';
  /** From the response's Retry-After, when it has one. */
  retryAfterMs?: number;
  constructor(
    readonly status: number,
    readonly code: string,
    readonly reason: string,
  ) {
    super(`${status} ${code}: ${reason}`);
  }
}

/** The API did not answer at all (not running, wrong address): nothing was sent or stored. */
export class TuskUnreachableError extends Error {
  override name = 'TuskUnreachableError';
}

/** A party's signed HTTP client for the Tusk API. */
export class TuskClient {
  /** The API accepts each signed request once: two identical requests need distinct timestamps. */
  /** The platform fee to sign when a body names none (GET /templates says it); the default fee if unset. */
  feeBps?: number;
  /** The acceptance window (seconds) to sign when a deal's body names none (GET /templates suggests one). */
  acceptanceWindowSeconds?: number;

  constructor(
    readonly baseUrl: string,
    readonly partyId: string,
    private readonly privateKeyPem: string,
  ) {}

  /**
   * Sends a signed request. A 503 `overloaded` (the API shed the request before running anything)
   * is sent again, freshly signed, after its Retry-After, a few times.
   */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<{ status: number; body: T }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requestOnce<T>(method, path, body, extraHeaders);
      } catch (error) {
        if (!(error instanceof TuskApiError) || error.code !== 'overloaded' || attempt >= OVERLOADED_TRIES)
          throw error;
        await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs ?? 1_000));
      }
    }
  }

  private async requestOnce<T>(
    method: string,
    path: string,
    body: unknown,
    extraHeaders: Record<string, string>,
  ): Promise<{ status: number; body: T }> {
    const text = body === undefined ? '' : body instanceof Uint8Array ? body : JSON.stringify(body);
    const headers: Record<string, string> = {
      ...extraHeaders,
      ...signRequest(this.partyId, this.privateKeyPem, {
        method,
        url: path,
        body: text,
        timestamp: Date.now(),
      }),
    };
    if (body !== undefined)
      headers['content-type'] = body instanceof Uint8Array ? 'application/octet-stream' : 'application/json';
    const response = await fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      body: text.length > 0 ? text : undefined,
    }).catch((error: unknown) => {
      const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
      throw new TuskUnreachableError(
        `cannot reach the Tusk API at ${this.baseUrl}${cause}; is it running? (--api or TUSK_API_URL)`,
      );
    });
    const json = (await response.json().catch(() => ({}))) as T & { code?: string; reason?: string };
    if (!response.ok) {
      const error = new TuskApiError(
        response.status,
        json.code ?? 'unknown',
        json.reason ?? response.statusText,
      );
      const retryAfter = Number(response.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter > 0) error.retryAfterMs = Math.min(retryAfter, 10) * 1000;
      throw error;
    }
    return { status: response.status, body: json };
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path).then((r) => r.body);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body).then((r) => r.body);
  }

  /** This party's Ed25519 public key (base64url): what perimeters know it by. */
  get publicKey(): string {
    return publicKeyOf(this.privateKeyPem);
  }

  /**
   * The body of a create request with this party's signature over it as deal terms. Money fields it
   * leaves out (nonce, fee, expiry, a grant's total, a subscription's periods) are filled in and signed.
   */
  signed<B extends TermsBody>(kind: TermsKind, body: B): B & { termsSignature: string } {
    const full = this.withMoney(kind, body);
    const { signature } = signTerms(kind, this.partyId, full, this.privateKeyPem);
    return { ...(full as B), [TERMS_SIGNATURE_FIELD]: signature };
  }

  /** The signed terms themselves, as the API would hand them to a workflow (money fields filled in). */
  signTerms(kind: TermsKind, body: TermsBody): SignedTerms {
    return signTerms(kind, this.partyId, this.withMoney(kind, body), this.privateKeyPem);
  }

  private withMoney(kind: TermsKind, body: TermsBody): TermsBody {
    return withSignedMoney(kind, body, {
      ...(this.feeBps === undefined ? {} : { feeBps: this.feeBps }),
      ...(this.acceptanceWindowSeconds === undefined
        ? {}
        : { acceptanceWindowSeconds: this.acceptanceWindowSeconds }),
    });
  }

  /**
   * Signs a decision over one workflow run and subject (the `scope` its status shows): what the API
   * takes with the decision's own fields, `notAfter` and `signature`.
   */
  signDecision(
    scope: DecisionScope,
    action: DecisionAction,
    content: unknown,
    ttlMs = DEFAULT_DECISION_TTL_MS,
  ): { notAfter: number; signature: string } {
    const notAfter = Date.now() + ttlMs;
    const statement = { ...scope, action, principal: this.partyId, content, notAfter };
    return { notAfter, signature: signDecision(this.privateKeyPem, statement).signature };
  }

  /**
   * Reads the scope from the resource's status (`statusPath`), then signs the decision over it. The
   * status is the operator's word for the run id; the subject it names is checked here against
   * what the caller expects, so a signature is never made for another deal or grant.
   */
  async decide(
    statusPath: string,
    action: DecisionAction,
    content: unknown,
    subjectId?: string,
  ): Promise<{ notAfter: number; signature: string }> {
    // A lifecycle shows its scope once its first step (hashing its terms) is done: wait that long.
    let { scope } = await this.get<{ scope?: DecisionScope }>(statusPath);
    for (let tries = 0; !scope && tries < SCOPE_TRIES; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      ({ scope } = await this.get<{ scope?: DecisionScope }>(statusPath));
    }
    if (!scope) throw new Error(`${statusPath} has no decision scope yet: try again in a moment`);
    if (subjectId !== undefined && scope.subject.id !== subjectId)
      throw new Error(`${statusPath} is about ${scope.subject.id}, not ${subjectId}: refusing to sign`);
    return this.signDecision(scope, action, content);
  }

  /** A signed read or view, used once: the query string for the GET that shows the evidence or fields. */
  async signedView(
    statusPath: string,
    action: 'evidence_read' | 'disclosure_view' | 'bundle_export',
  ): Promise<string> {
    const nonce = randomBytes(18).toString('base64url');
    const { notAfter, signature } = await this.decide(statusPath, action, { nonce });
    return new URLSearchParams({ notAfter: String(notAfter), nonce, signature }).toString();
  }

  /** Uploads bytes to the blob store; returns their content address. */
  async putBlob(bytes: Uint8Array): Promise<string> {
    return (await this.post<{ ref: string }>('/blobs', bytes)).ref;
  }
}
