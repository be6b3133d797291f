import { payerRole } from '../../lib/key-log';
import { signedTermsSchema } from '../../lib/signed-terms';
import type { SignedBundle } from '../bundle';
import { eventTimeMs, readHistory, type HistoryJson } from '../history-json';
import type { AuditorKeys } from './auditor-keys';
import { keyThatSigned, retiredKeyProblem } from './key-at-time';
import { finding, fromProblems, skipped, type CheckResult } from './report';

const PAYER = "payer's key";
const BUNDLE = "the bundle's keys";
export const NO_KEYS =
  'give --keys FILE (keys you pin), or --as a registered party with --operator-key to read the transparency log';

/**
 * Who signed is who is named, afterwards: the payer's terms are signed by a key the auditor's source
 * (its pinned keys or the log) gives for the payer, in the role that pays, and that key spoke for the
 * payer when the first run started (a key the log had retired by then is a finding). Terms signed by
 * a fresh key in a registered buyer's name, with the bundle carrying that key as the buyer's, are a
 * finding here.
 */
export function checkPayerKey(bundle: SignedBundle, keys?: AuditorKeys): CheckResult[] {
  const history = bundle.body.runs[0]!.history as HistoryJson;
  const input = readHistory(history).input[0] as { terms?: unknown } | undefined;
  const terms = signedTermsSchema.safeParse(input?.terms);
  if (!terms.success) return [skipped(PAYER, 'the history holds no signed terms')];
  if (!keys) return [skipped(PAYER, NO_KEYS)];
  const { signer, publicKey, kind } = terms.data;
  const known = keys.parties[signer];
  if (!known) return [skipped(PAYER, `no key of ${signer} is pinned`)];
  const role = payerRole(kind);
  if (known.keys.length === 0) return [finding(PAYER, `${known.from} registers no key for ${signer}`)];
  const problems: string[] = [];
  const startedAt = eventTimeMs(history.events[0]);
  const signing = keyThatSigned(known, (key) => key === publicKey, startedAt);
  if (signing.kind === 'none-verifies')
    problems.push(`the terms are signed by ${publicKey}, which ${known.from} does not give for ${signer}`);
  if (signing.kind === 'retired') problems.push(retiredKeyProblem(`${signer}'s terms`, signing, startedAt));
  if (known.role && known.role !== role)
    problems.push(`${known.from} gives ${signer} the role ${known.role}, not ${role}`);
  return fromProblems(PAYER, problems, `${signer}'s key, as ${known.from} gives it`);
}

/**
 * The keys the bundle carries are only the operator's claim: each one must be a key the auditor's
 * source gives for that party (and role). A bundle whose keys differ from the log's is a finding.
 */
export function checkBundleKeys(bundle: SignedBundle, keys?: AuditorKeys): CheckResult[] {
  if (!keys) return [skipped(BUNDLE, NO_KEYS)];
  const problems: string[] = [];
  let compared = 0;
  for (const party of bundle.body.parties) {
    const known = keys.parties[party.id];
    if (!known) continue;
    compared++;
    if (!known.keys.includes(party.publicKey))
      problems.push(
        `the bundle gives ${party.id} key ${party.publicKey}; ${known.from} gives ${known.keys.at(-1) ?? 'none'}`,
      );
    else if (known.role && known.role !== party.role)
      problems.push(`the bundle makes ${party.id} a ${party.role}; ${known.from} a ${known.role}`);
  }
  if (compared === 0) return [skipped(BUNDLE, 'no key of a party the bundle names is pinned')];
  return fromProblems(BUNDLE, problems, `${compared} parties' keys agree with the keys held`);
}
