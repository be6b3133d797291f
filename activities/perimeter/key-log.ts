import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkKeyRegistrations,
  currentRegistration,
  keyRegistrations,
  keySubject,
  type KeyRegistration,
} from '../../lib/audit/key-registration';
import { signedTreeHead, type SignedTreeHead } from '../../lib/audit/tree-head';
import { refuse } from './refusal';

/** Who the registry says a party's current key is, as far as the perimeter can verify it. */
export interface RegisteredKeys {
  currentKey(partyId: string): Promise<KeyRegistration | undefined>;
}

export const LOG_HEAD_FILE = 'log-head.json';

/**
 * The perimeter's view of the operator's transparency log. It asks the log (over HTTP, not through
 * Temporal) for a party's key registrations and believes them only with an inclusion proof to a tree
 * head signed by the operator's pinned key, consistent with the newest head it saw before, which it
 * keeps in its own state directory: a log rewritten or forked after the perimeter saw it is refused.
 */
export class TransparencyKeyLog implements RegisteredKeys {
  private newest: SignedTreeHead | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly config: { logUrl: string; operatorPublicKey: string; stateDir: string }) {
    this.newest = readSavedHead(join(config.stateDir, LOG_HEAD_FILE));
  }

  /** One question at a time, so each answer is checked against the head saved just before it. */
  currentKey(partyId: string): Promise<KeyRegistration | undefined> {
    const next = this.queue.then(() => this.ask(partyId));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async ask(partyId: string): Promise<KeyRegistration | undefined> {
    const subject = keySubject(partyId, 'party');
    const since = this.newest?.body.treeSize ?? 0;
    const url = `${this.config.logUrl}/log/keys/${encodeURIComponent(partyId)}?purpose=party&since=${since}`;
    // A log that cannot be reached is a transient fault: the activity is retried.
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`the transparency log answered ${response.status} for ${subject}`);
    const answer = keyRegistrations.safeParse(await response.json());
    if (!answer.success)
      refuse('KeyLogUnverified', `the transparency log's answer about ${subject} is malformed`);
    const checked = checkKeyRegistrations(answer.data, subject, this.config.operatorPublicKey, this.newest);
    if (!checked.ok) refuse('KeyLogUnverified', `the transparency log cannot be trusted: ${checked.reason}`);
    if (checked.head.body.treeSize > since || !this.newest) await this.save(checked.head);
    return currentRegistration(checked.registrations);
  }

  private async save(head: SignedTreeHead): Promise<void> {
    const path = join(this.config.stateDir, LOG_HEAD_FILE);
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
