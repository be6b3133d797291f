import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  checkKeyRegistrations,
  currentRegistration,
  keyPurpose,
  keyRegistrations,
  keySubject,
  type KeyPeriod,
  type KeyPurpose,
  type KeyRegistration,
} from './transparency/key-registration';
import { signedTreeHead, type SignedTreeHead } from './transparency/tree-head';
import {
  checkReleaseLookup,
  releaseLookup,
  type LookedUpKind,
  type LoggedRelease,
  type ReleaseAppendRequest,
} from './transparency/release-entry';
import { generateEd25519KeyPair, publicKeyOf } from './ed25519';
import type { PartyRole } from './parties';
import { signRequest } from './signed-request';
import type { TermsKind } from './signed-terms';

/**
 * The one reader of the operator's transparency log of keys (`GET /log/keys/:party`), shared by the
 * perimeter, settlement, the coordinator, the CLI and audit: an answer is believed only with inclusion
 * proofs to a tree head signed by the operator's pinned key, consistent with the head saved before.
 */

/**
 * Who the log says a party's current key is, as far as the asker can verify it. An effect (a query
 * run, money locked or paid, a decision counted) is checked against this key only: a key the party
 * rotated away from, or that was retired, no longer signs for it.
 */
export interface RegisteredKeys {
  currentKey(partyId: string, purpose?: KeyPurpose): Promise<KeyRegistration | undefined>;
}

/**
 * Every key a party's subject was registered with, each with its period as log positions and times
 * (oldest first), as far as the asker can verify it. Used where a signature took effect at a known
 * log position (a logged release): the key that counts is the one registered at that position.
 */
export interface KeyHistory {
  keyPeriods(partyId: string, purpose?: KeyPurpose): Promise<KeyPeriod[]>;
}

/** The releases the log holds under a lookup key (lib/transparency/release-entry.ts), as far as verified. */
export interface ReleaseLog {
  loggedReleases(lookupKey: string): Promise<LoggedRelease[]>;
}

/** The sponsor's signed deadline extensions the log holds under a grant's lookup key, as verified. */
export interface ExtensionLog {
  loggedExtensions(lookupKey: string): Promise<unknown[]>;
}

/**
 * The same extensions, each with its leaf: when the log took it in, the time the sponsor's key is
 * judged at (a sponsor that rotates its key after extending keeps its extension).
 */
export interface ExtensionLeaves {
  loggedExtensionLeaves(lookupKey: string): Promise<{ document: unknown; leafIndex: number }[]>;
}

/** A perimeter's side: logs a release and returns the head and proof it keeps beside its ledger. */
export interface ReleaseLogWriter {
  logRelease(request: ReleaseAppendRequest): Promise<{ head: SignedTreeHead; proof: LoggedRelease }>;
}

/** The log's answer cannot be believed (malformed, a proof fails, a fork): a refusal, not a fault. */
export class KeyLogUntrustedError extends Error {
  override name = 'KeyLogUntrustedError';
}

/** What a process names the file of the newest log head it saw, in its state directory. */
export const LOG_HEAD_FILE = 'log-head.json';

/** The log's path for a party's registrations of one purpose, proving consistency from `since`. */
export const keyLogPath = (partyId: string, purpose: KeyPurpose, since = 0) =>
  `/log/keys/${encodeURIComponent(partyId)}?purpose=${purpose}&since=${since}`;

/**
 * Asks the log (through `get`, which signs the request) for a party's registrations and checks them
 * against the pinned operator key and the saved head. Every registration is returned, oldest first,
 * and with it each key's period of validity: [its log position and time, its successor's).
 */
export async function readKeyLog(
  get: (path: string) => Promise<unknown>,
  query: { partyId: string; purpose: KeyPurpose; operatorPublicKey: string; saved?: SignedTreeHead },
): Promise<{ head: SignedTreeHead; registrations: KeyRegistration[]; periods: KeyPeriod[] }> {
  const subject = keySubject(query.partyId, query.purpose);
  // Without a pinned key, any head would be checked against the key it names itself.
  if (!query.operatorPublicKey)
    throw new KeyLogUntrustedError(`no operator log key is pinned to check the answer about ${subject}`);
  const answer = keyRegistrations.safeParse(
    withoutUnknownPurposes(await askLog(get, query.partyId, query.purpose, query.saved?.body.treeSize ?? 0)),
  );
  if (!answer.success)
    throw new KeyLogUntrustedError(`the transparency log's answer about ${subject} is malformed`);
  const checked = checkKeyRegistrations(answer.data, subject, query.operatorPublicKey, query.saved);
  if (!checked.ok)
    throw new KeyLogUntrustedError(`the transparency log cannot be trusted: ${checked.reason}`);
  return { head: checked.head, registrations: checked.registrations, periods: checked.periods };
}

/** Whether an API error is a 400 about the `purpose` the reader asked for (an API older than the purpose). */
const refusesPurpose = (error: unknown, purpose: KeyPurpose) =>
  typeof error === 'object' &&
  error !== null &&
  ((error as { status?: unknown }).status === 400 ||
    /answered 400\b/.test(String((error as Error).message))) &&
  String((error as Error).message).includes('purpose') &&
  purpose !== 'party';

/**
 * Asks the log; an API that predates the purpose asked (it answers 400 on `purpose`) is named as such,
 * so whoever upgraded a reader before the API reads what to do instead of a bare validation error.
 */
async function askLog(
  get: (path: string) => Promise<unknown>,
  partyId: string,
  purpose: KeyPurpose,
  since: number,
): Promise<unknown> {
  try {
    return await get(keyLogPath(partyId, purpose, since));
  } catch (error) {
    if (refusesPurpose(error, purpose))
      throw new KeyLogPurposeUnknownError(
        `the transparency log does not know key purpose '${purpose}' (its API is older than this reader): ` +
          `upgrade the API, then ask again (${String((error as Error).message)})`,
      );
    throw error;
  }
}

/**
 * Drops registrations of purposes this reader does not know. A registration's digest commits to its
 * purpose, and its purpose is part of its subject, so one of an unknown purpose can never be a key of
 * the subject asked: every check on the subject's own registrations (inclusion, sequence, order) is
 * unchanged. A newer log may list such keys; a reader that does not use them need not refuse it.
 */
function withoutUnknownPurposes(answer: unknown): unknown {
  const registrations = (answer as { registrations?: unknown } | null)?.registrations;
  if (!Array.isArray(registrations)) return answer;
  const known = (entry: unknown) => {
    const purpose = (entry as { registration?: { purpose?: unknown } } | null)?.registration?.purpose;
    return typeof purpose !== 'string' || keyPurpose.safeParse(purpose).success;
  };
  return { ...(answer as object), registrations: registrations.filter(known) };
}

/** The log does not serve a key purpose the reader asked for: its API predates it. */
export class KeyLogPurposeUnknownError extends Error {
  override name = 'KeyLogPurposeUnknownError';
}

/** A registered party that signs its questions to the log: the log answers only signed requests. */
export interface KeyLogReader {
  partyId: string;
  privateKeyPem: string;
}

export interface TransparencyKeyLogConfig {
  /** The API's base URL, where the log is served. */
  logUrl: string;
  /** The operator's log-signing key, pinned: heads signed by any other key are refused. */
  operatorPublicKey: string;
  /** Where the newest head seen is kept, so a log rewritten or forked afterwards is refused. */
  headFile: string;
  reader: KeyLogReader;
  /** How a log that cannot be believed is refused where the check takes effect. */
  untrusted?: (reason: string) => never;
}

/**
 * A process's view of the log: signed questions over HTTP (never through Temporal), checked answers,
 * and the newest head saved in its own state, one question at a time so each answer is checked
 * against the head saved just before it.
 */
export class TransparencyKeyLog
  implements RegisteredKeys, KeyHistory, ReleaseLog, ReleaseLogWriter, ExtensionLog, ExtensionLeaves
{
  private newest: SignedTreeHead | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly config: TransparencyKeyLogConfig) {
    this.newest = readSavedHead(config.headFile);
  }

  currentKey(partyId: string, purpose: KeyPurpose = 'party'): Promise<KeyRegistration | undefined> {
    return this.inTurn(async () => currentRegistration((await this.ask(partyId, purpose)).registrations));
  }

  async keyPeriods(partyId: string, purpose: KeyPurpose = 'party'): Promise<KeyPeriod[]> {
    return (await this.inTurn(() => this.ask(partyId, purpose))).periods;
  }

  async loggedReleases(lookupKey: string): Promise<LoggedRelease[]> {
    return (await this.inTurn(() => this.lookUp(lookupKey, 'GET', ''))).releases;
  }

  async loggedExtensions(lookupKey: string): Promise<unknown[]> {
    return (await this.loggedExtensionLeaves(lookupKey)).map((logged) => logged.document);
  }

  async loggedExtensionLeaves(lookupKey: string): Promise<{ document: unknown; leafIndex: number }[]> {
    const { releases } = await this.inTurn(() => this.lookUp(lookupKey, 'GET', '', 'extension'));
    return releases.map(({ document, leafIndex }) => ({ document, leafIndex }));
  }

  /** Appends a release; refused (thrown) unless the answer proves it is in a head extending the saved one. */
  async logRelease(request: ReleaseAppendRequest): Promise<{ head: SignedTreeHead; proof: LoggedRelease }> {
    const { head, releases } = await this.inTurn(() =>
      this.lookUp(request.lookupKey, 'POST', JSON.stringify(request)),
    );
    const proof = releases.find((release) => release.digest === request.digest);
    if (!proof) throw new KeyLogUntrustedError(`the log's answer does not hold the release just appended`);
    return { head, proof };
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async lookUp(
    lookupKey: string,
    method: 'GET' | 'POST',
    body: string,
    kind: LookedUpKind = 'release',
  ) {
    const since = this.newest?.body.treeSize ?? 0;
    const path =
      method === 'GET' ? `/log/${kind}s/${lookupKey}?since=${since}` : `/log/${kind}s?since=${since}`;
    const answer = releaseLookup.safeParse(await this.signedFetch(method, path, body));
    const checked = answer.success
      ? checkReleaseLookup(answer.data, lookupKey, this.config.operatorPublicKey, this.newest, kind)
      : { ok: false as const, reason: `its answer about release ${lookupKey} is malformed` };
    if (!checked.ok) {
      const reason = `the transparency log cannot be trusted: ${checked.reason}`;
      if (this.config.untrusted) this.config.untrusted(reason);
      throw new KeyLogUntrustedError(reason);
    }
    if (checked.head.body.treeSize > since || !this.newest) await this.save(checked.head);
    return checked;
  }

  private async ask(
    partyId: string,
    purpose: KeyPurpose,
  ): Promise<{ registrations: KeyRegistration[]; periods: KeyPeriod[] }> {
    const since = this.newest?.body.treeSize ?? 0;
    let read;
    try {
      read = await readKeyLog((path) => this.signedFetch('GET', path, ''), {
        partyId,
        purpose,
        operatorPublicKey: this.config.operatorPublicKey,
        ...(this.newest ? { saved: this.newest } : {}),
      });
    } catch (error) {
      if (error instanceof KeyLogUntrustedError && this.config.untrusted)
        this.config.untrusted(error.message);
      throw error;
    }
    if (read.head.body.treeSize > since || !this.newest) await this.save(read.head);
    return read;
  }

  private async signedFetch(method: 'GET' | 'POST', path: string, body: string): Promise<unknown> {
    // Each signed request is accepted once: two questions in one millisecond get distinct timestamps.
    const { partyId, privateKeyPem } = this.config.reader;
    const headers = signRequest(partyId, privateKeyPem, { method, url: path, body, timestamp: Date.now() });
    // A log that cannot be reached (or refuses the reader) is a transient fault: the activity is retried.
    const response = await fetch(`${this.config.logUrl}${path}`, {
      method,
      headers: body === '' ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === '' ? {} : { body }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) {
      const reason = ((await response.json().catch(() => ({}))) as { reason?: string }).reason ?? '';
      throw new Error(`the transparency log answered ${response.status} to ${partyId}: ${reason}`);
    }
    return response.json();
  }

  private async save(head: SignedTreeHead): Promise<void> {
    const path = this.config.headFile;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(`${path}.tmp`, JSON.stringify(head));
    await rename(`${path}.tmp`, path);
    this.newest = head;
  }
}

function readSavedHead(path: string): SignedTreeHead | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // A saved head that does not parse is not silently forgotten: that would accept a forked log.
  return signedTreeHead.parse(JSON.parse(text));
}

/** The role that bears a payment under terms of this kind: a grant's sponsor, otherwise the buyer. */
export const payerRole = (kind: TermsKind): PartyRole => (kind === 'grant' ? 'sponsor' : 'buyer');

/**
 * Who signed is who is named: why `publicKey` is not the newest key the log registers for `partyId`
 * in one of `roles`, or undefined when it is.
 */
export async function registeredKeyProblem(
  keys: RegisteredKeys,
  signed: { partyId: string; publicKey: string },
  roles: readonly PartyRole[],
): Promise<string | undefined> {
  return registrationProblem(await keys.currentKey(signed.partyId), signed, roles);
}

/**
 * Why `publicKey` is not the key of `registered` (a registration the log holds for `partyId`, the
 * current one or the one a check recorded) in one of `roles`, or undefined when it is.
 */
export function registrationProblem(
  registered: KeyRegistration | undefined,
  signed: { partyId: string; publicKey: string },
  roles: readonly PartyRole[],
): string | undefined {
  if (!registered) return `the transparency log registers no key for ${signed.partyId}`;
  if (!roles.includes(registered.role))
    return `${signed.partyId} is registered as a ${registered.role}, not a ${roles.join(' or ')}`;
  if (registered.publicKey !== signed.publicKey)
    return `the terms are signed by a key that is not ${signed.partyId}'s registered key`;
  return undefined;
}

/** The operator's processes that read the key log under their own party (role operator). */
export type OperatorService = 'settlement' | 'coordinator';

/** Where an operator process keeps its key and log head, and the party id it is registered under. */
export const serviceIdentity = (service: OperatorService, home: string) => ({
  partyId: `operator-${service}`,
  keyFile: join(home, 'keys', `operator-${service}.ed25519.pem`),
  headFile: join(home, service, LOG_HEAD_FILE),
});

/**
 * A process's own signing key in a PEM file, made on first use ('wx', so two starts keep one key):
 * an operator process's (settlement, coordinator: the operator registers its public key as a party
 * of role operator) or a seller's perimeter's (registered as the seller's perimeter key).
 */
export async function loadOrMakeSigningKey(
  path: string,
): Promise<{ publicKey: string; privateKeyPem: string }> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, generateEd25519KeyPair().privateKeyPem, { mode: 0o600, flag: 'wx' }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    },
  );
  const privateKeyPem = await readFile(path, 'utf8');
  return { publicKey: publicKeyOf(privateKeyPem), privateKeyPem };
}

/** Where a seller's perimeter keeps its signing key, in its state directory. */
export const perimeterKeyFile = (stateDir: string) => join(stateDir, 'perimeter-signing.ed25519.pem');
