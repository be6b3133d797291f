import { decisionSignatureValid, type SignedDecision } from '../../lib/signed-decision';
import type { SignedBundle } from '../bundle';
import { eventTimeMs, payloadValue, type HistoryJson } from '../history-json';
import type { AuditorKeys } from './auditor-keys';
import { keyThatSigned, retiredKeyProblem, type SigningKey } from './key-at-time';
import { NO_KEYS } from './key-checks';
import { fromProblems, skipped, type CheckResult } from './report';

/** The updates whose signed decisions count as approvals (two distinct principals each time). */
const APPROVAL_UPDATES = new Set(['approveDisputeOutcome', 'decideDisclosure']);

type Run = SignedBundle['body']['runs'][number];

/** A signed decision a run counted: the update that carried it, the signed statement, and when. */
interface CountedDecision {
  update: string;
  signed: SignedDecision;
  /** When the run accepted the update (Temporal's event time): the key must have been valid then. */
  at?: number;
}

interface UpdateAccepted {
  acceptedRequest?: {
    meta?: { updateId?: string };
    input?: { name?: string; args?: { payloads?: unknown[] } };
  };
}
interface UpdateCompleted {
  meta?: { updateId?: string };
  outcome?: { success?: unknown };
}

/** Every update of the run that carried a signed decision (`{ signed }`) and completed successfully. */
export function countedDecisions(run: Run): CountedDecision[] {
  const accepted = new Map<string, { update: string; request: { signed?: unknown }; at?: number }>();
  const counted: CountedDecision[] = [];
  for (const event of (run.history as HistoryJson).events) {
    const acc = event.workflowExecutionUpdateAcceptedEventAttributes as UpdateAccepted | undefined;
    if (acc)
      accepted.set(String(acc.acceptedRequest?.meta?.updateId), {
        update: acc.acceptedRequest?.input?.name ?? '',
        request: payloadValue(acc.acceptedRequest?.input?.args?.payloads?.[0]) ?? {},
        at: eventTimeMs(event),
      });
    const done = event.workflowExecutionUpdateCompletedEventAttributes as UpdateCompleted | undefined;
    const update = done && accepted.get(String(done.meta?.updateId));
    if (update && done.outcome?.success !== undefined && isSigned(update.request.signed))
      counted.push({
        update: update.update,
        signed: update.request.signed,
        ...(update.at !== undefined ? { at: update.at } : {}),
      });
  }
  return counted;
}

function isSigned(value: unknown): value is SignedDecision {
  const signed = value as Partial<SignedDecision> | undefined;
  return typeof signed?.signature === 'string' && typeof signed.statement === 'object' && !!signed.statement;
}

/**
 * The key, of those the auditor holds for the principal (pinned, or from the log), that signed the
 * decision, judged at the time the run counted it: a key the log had retired by then is named.
 */
function signingKey(keys: AuditorKeys, { signed, at }: CountedDecision): SigningKey {
  return keyThatSigned(
    keys.parties[signed.statement.principal],
    (key) => decisionSignatureValid(key, signed),
    at,
  );
}

/** Why the decision's signature does not count, or undefined when it does. */
function signatureProblem(what: string, principal: string, signing: SigningKey, at?: number) {
  switch (signing.kind) {
    case 'none-held':
      return `${what}: no key of ${principal} is held (pinned or logged)`;
    case 'none-verifies':
      return `${what} is not signed by ${principal}'s key`;
    case 'retired':
      return retiredKeyProblem(what, signing, at);
    case 'valid':
      return undefined;
  }
}

/**
 * Every decision a run counted was signed by the principal it names, for that very run: a signature
 * made on another run (or another workflow) of the same id is named as a finding.
 */
export function checkDecisionBindings(bundle: SignedBundle, keys?: AuditorKeys): CheckResult[] {
  const results: CheckResult[] = [];
  for (const run of bundle.body.runs) {
    const decisions = countedDecisions(run);
    if (decisions.length === 0) continue;
    const problems: string[] = [];
    for (const decision of decisions) {
      const { update, signed } = decision;
      const { principal, workflowId, runId, action } = signed.statement;
      const what = `${principal}'s ${action ?? update} (${update})`;
      if (workflowId !== run.workflowId || runId !== run.runId)
        problems.push(
          `${what} was signed for run ${runId} of ${workflowId}, not this run ${run.runId} of ${run.workflowId}`,
        );
      if (!keys) continue;
      const problem = signatureProblem(what, principal, signingKey(keys, decision), decision.at);
      if (problem) problems.push(problem);
    }
    if (!keys && problems.length === 0) {
      results.push(
        skipped(`signed decisions of ${run.workflowId}`, `bound to this run; signatures: ${NO_KEYS}`),
      );
      continue;
    }
    results.push(
      ...fromProblems(
        `signed decisions of ${run.workflowId}`,
        problems,
        `${decisions.length} decisions signed by their principals for run ${run.runId}`,
      ),
    );
  }
  return results.length > 0 ? results : [skipped('signed decisions', 'no signed decisions in this bundle')];
}

/** Approvals that counted were signed by their principals, each by a distinct principal and key. */
export function checkApprovals(bundle: SignedBundle, keys?: AuditorKeys): CheckResult[] {
  const results: CheckResult[] = [];
  for (const run of bundle.body.runs) {
    const counted = countedDecisions(run).filter((d) => APPROVAL_UPDATES.has(d.update));
    if (counted.length === 0) continue;
    if (!keys) {
      results.push(skipped(`approvals of ${run.workflowId}`, NO_KEYS));
      continue;
    }
    const problems: string[] = [];
    const signers = new Map<string, string>();
    for (const decision of counted) {
      const principal = decision.signed.statement.principal;
      const signing = signingKey(keys, decision);
      const problem = signatureProblem(`${principal}'s approval`, principal, signing, decision.at);
      if (problem || signing.kind !== 'valid') {
        problems.push(problem ?? `${principal}'s approval is not signed`);
        continue;
      }
      const key = signing.key;
      const earlier = signers.get(key);
      if (earlier !== undefined)
        problems.push(
          earlier === principal
            ? `${principal} approved twice`
            : `one key signed the approvals of ${earlier} and ${principal}: not two distinct principals`,
        );
      signers.set(key, principal);
    }
    results.push(
      ...fromProblems(
        `approvals of ${run.workflowId}`,
        problems,
        `${counted.length} signed approvals, distinct principals and keys`,
      ),
    );
  }
  return results.length > 0 ? results : [skipped('approvals', 'no approvals in this deal')];
}
