import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForStage } from '../../cli/buyer/commands';
import { addParty } from '../../lib/parties';
import { keyPaths, writeFileAtomic } from '../../cli/common';
import type { SignedBundle } from '../../audit/bundle';
import { loadOperatorSigner } from '../../lib/transparency/operator-key';
import { signDocument } from '../../lib/transparency/signed-document';
import { auditorKeysFromLog } from '../../audit/verify/auditor-keys';
import { verifyBundle } from '../../audit/verify/verify-bundle';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { keyLogPath } from '../../lib/key-log';
import { signDecision } from '../../lib/signed-decision';
import { signRequest } from '../../lib/signed-request';
import { signTerms } from '../../lib/signed-terms';
import { DEALS_TASK_QUEUE } from '../../lib/temporal';
import type { GrantStatus } from '../../workflows/grant/state';
import { approveMilestoneUpdate, milestoneGrant } from '../../workflows/grant/workflow';
import { grantWorkflowId } from '../../lib/ids/workflow-ids';
import { approveMilestone, submitGrantEvidence } from '../../lib/signed-actions';
import { TuskClient } from '../../lib/tusk-client';
import { payloadValue, type HistoryJson } from '../../audit/history-json';
import { tusk } from './cli/run-tusk';
import { buyDeal, startTestDeployment, type TestDeployment } from './harness';
import { LIFECYCLE_PARTIES, party, updateRefusal, waitFor } from './lifecycle-harness';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };

/**
 * Keys come from the transparency log, not from the operator's registry file: the operator who
 * hands settlement or the coordinator a registry of its own making (a key swapped in, never logged)
 * moves no money and decides nothing, and an auditor reading the log names a bundle's forged keys.
 */
describe('keys from the transparency log, where money moves and decisions count', () => {
  let test: TestDeployment;
  let operatorKey: string;
  /** A copy of the registry in which the operator made `id`'s key its own: a cache the log never saw. */
  const forgedRegistry = async (id: string, publicKey: string) => {
    const path = join(test.home, `forged-parties-${crypto.randomUUID()}.json`);
    await writeFile(path, await readFile(join(test.home, 'parties.json'), 'utf8'));
    await addParty(path, { id, role: 'sponsor', publicKey });
    return path;
  };
  /** Restarts a worker with the environment the operator chooses. */
  const restartWith = async (name: string, env: Record<string, string> = {}) => {
    await test.deployment.services.get(name)!.stop();
    await test.deployment.restart(name, env);
  };

  beforeAll(async () => {
    test = await startTestDeployment(
      'key-log',
      (seller) => seller.publishDemoTemplate().then(() => undefined),
      {
        parties: [...LIFECYCLE_PARTIES, { id: 'rotating-sponsor', role: 'sponsor', funds: 10_000n }],
        acceptanceTimeoutMs: 1_000,
      },
    );
    operatorKey = (await loadOperatorSigner(join(test.home, 'keys', 'operator-signing.ed25519.pem'), false))
      .publicKey;
  });
  afterAll(() => test?.close());

  it('GET /log/keys unsigned is 401 with a reason, alike for an id that exists and one that does not', async () => {
    const ask = (id: string, headers: Record<string, string> = {}) =>
      fetch(`${test.deployment.apiUrl}${keyLogPath(id, 'party')}`, { headers });
    const answers = await Promise.all(['sponsor', 'no-such-party'].map((id) => ask(id)));
    const bodies = await Promise.all(answers.map((a) => a.json()));
    expect(answers.map((a) => a.status)).toEqual([401, 401]);
    expect(bodies[0]).toEqual({ code: 'unauthenticated', reason: expect.stringMatching(/sign the request/) });
    expect(bodies[1]).toEqual(bodies[0]);

    // Signed by a key nobody registered, in a registered party's name or an unknown one: 401, one reason.
    const stranger = generateEd25519KeyPair();
    const signedAs = (as: string, id: string) =>
      ask(
        id,
        signRequest(as, stranger.privateKeyPem, {
          method: 'GET',
          url: keyLogPath(id, 'party'),
          body: '',
          timestamp: Date.now(),
        }),
      );
    const forged = await Promise.all([signedAs('auditor', 'sponsor'), signedAs('nobody', 'no-such-party')]);
    expect(forged.map((a) => a.status)).toEqual([401, 401]);
    const [one, two] = await Promise.all(forged.map((a) => a.json()));
    expect(one).toEqual(two);

    // A registered auditor, signing, gets the sponsor's registrations with their proofs.
    const answer = await party(test, 'auditor').client.get<{
      registrations: { registration: { publicKey: string } }[];
    }>(keyLogPath('sponsor', 'party'));
    expect(answer.registrations.map((r) => r.registration.publicKey)).toEqual([
      party(test, 'sponsor').client.publicKey,
    ]);
  });

  it("a payer key swapped in settlement's registry but not in the log: settlement locks nothing", async () => {
    const sponsor = party(test, 'sponsor');
    const forger = generateEd25519KeyPair();
    await restartWith('settlement worker', {
      TUSK_PARTIES_FILE: await forgedRegistry('sponsor', forger.publicKey),
    });
    try {
      const before = await test.deployment.ledger.balanceOf(sponsor.id);
      const grantId = `swapped-payer-${crypto.randomUUID()}`;
      const milestone = { milestoneId: 'm1', name: 'm1', amount: '500', check: { kind: 'sponsor_approval' } };
      const deadline = Date.now() + 60_000;
      // Terms in the sponsor's name under the forger's key, which only the forged registry calls the sponsor's.
      const terms = signTerms(
        'grant',
        sponsor.id,
        {
          grantId,
          granteeId: 'lab',
          milestones: [{ ...milestone, deadline: new Date(deadline).toISOString() }],
        },
        forger.privateKeyPem,
      );
      const ended = await test.temporal.workflow.execute(milestoneGrant, {
        taskQueue: DEALS_TASK_QUEUE,
        workflowId: grantWorkflowId(grantId),
        args: [
          {
            grantId,
            sponsorId: sponsor.id,
            granteeId: 'lab',
            feeBps: 250,
            milestones: [{ ...milestone, check: { kind: 'sponsor_approval' as const }, deadline }],
            terms,
          },
        ],
      });
      expect(ended.stage).toBe('failed');
      expect(ended.problem).toEqual({
        code: 'PayerNotSigned',
        reason: "the terms are signed by a key that is not sponsor's registered key",
      });
      expect(await test.deployment.ledger.balanceOf(sponsor.id)).toBe(before);
      const escrows = [...(await test.deployment.ledger.state()).escrows.keys()];
      expect(escrows.filter((id) => id.includes(grantId))).toEqual([]);
    } finally {
      await restartWith('settlement worker');
    }
  });

  it('an approval signed by a key not in the log: the coordinator refuses it, even with the key in its registry', async () => {
    const sponsor = party(test, 'sponsor');
    const lab = party(test, 'lab');
    const grantId = `forged-approval-${crypto.randomUUID()}`;
    const created = await sponsor.client.request<GrantStatus>(
      'POST',
      '/grants',
      sponsor.client.signed('grant', {
        grantId,
        granteeId: lab.id,
        milestones: [
          {
            milestoneId: 'report',
            name: 'final report',
            amount: '250',
            deadline: new Date(Date.now() + 120_000).toISOString(),
            check: { kind: 'sponsor_approval' },
          },
        ],
      }),
    );
    expect(created.status).toBe(201);
    const grant = () => sponsor.client.get<GrantStatus>(`/grants/${grantId}`);
    const scope = (await waitFor(grant, (s) => s.stage === 'active')).scope!;
    await submitGrantEvidence(lab.client, grantId, 'report', 'the final report');
    const labBefore = await test.deployment.ledger.balanceOf(lab.id);

    // The operator gives the coordinator a registry where the sponsor's key is one it holds.
    const forger = generateEd25519KeyPair();
    await restartWith('coordinator worker', {
      TUSK_PARTIES_FILE: await forgedRegistry('sponsor', forger.publicKey),
    });
    try {
      const forged = signDecision(forger.privateKeyPem, {
        ...scope,
        action: 'milestone_approval',
        principal: sponsor.id,
        content: { milestoneId: 'report' },
        notAfter: Date.now() + 600_000,
      });
      const handle = test.temporal.workflow.getHandle(grantWorkflowId(grantId));
      expect(
        await updateRefusal(handle.executeUpdate(approveMilestoneUpdate, { args: [{ signed: forged }] })),
      ).toMatch(/the signature is not sponsor's/);
      const status = await grant();
      expect(status.milestones[0]!.stage).toBe('open');
      expect(await test.deployment.ledger.balanceOf(lab.id)).toBe(labBefore);
    } finally {
      await restartWith('coordinator worker');
    }
  });

  it('an audit bundle carrying a forged key is a finding for an auditor who reads keys from the log', async () => {
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', PARAMETERS);
    await deal.delivered();
    await waitForStage(test.deployment.buyer.client, deal.dealId, (s) => s.stage === 'settled', 60_000);
    await test.temporal.workflow.getHandle(deal.dealId).result();
    const bundle = await test.deployment.buyer.client.get<SignedBundle>(`/deals/${deal.dealId}/audit-bundle`);
    const auditor = party(test, 'auditor').client;
    const fromLog = (b: SignedBundle) => auditorKeysFromLog((path) => auditor.get(path), operatorKey, b);
    const checksOf = async (b: SignedBundle) =>
      (await verifyBundle(b, { operatorKey, keys: await fromLog(b) })).checks.filter((c) =>
        ["payer's key", "the bundle's keys"].includes(c.check),
      );
    expect((await checksOf(bundle)).map((c) => c.status)).toEqual(['ok', 'ok']);

    // The operator re-signs the bundle with another key as the buyer's: self-consistent, but not the log's.
    const signer = await loadOperatorSigner(join(test.home, 'keys', 'operator-signing.ed25519.pem'), false);
    const forgedKey = generateEd25519KeyPair().publicKey;
    const forged = signDocument(signer, {
      ...bundle.body,
      parties: bundle.body.parties.map((p) => (p.id === 'demo-buyer' ? { ...p, publicKey: forgedKey } : p)),
    });
    expect(await checksOf(forged)).toContainEqual({
      check: "the bundle's keys",
      status: 'finding',
      detail: `the bundle gives demo-buyer key ${forgedKey}; the transparency log gives ${test.deployment.buyer.client.publicKey}`,
    });

    // The auditor's CLI does the same: keys from the log under the operator key it pins; exit 1.
    const cliHome = join(test.home, 'auditor-cli');
    await writeFileAtomic(keyPaths(cliHome, 'auditor').signing, party(test, 'auditor').signingKeyPem, 0o600);
    const file = join(test.home, 'forged-bundle.json');
    await writeFile(file, JSON.stringify(forged));
    const run = await tusk(['audit', 'verify', file, '--as', 'auditor', '--operator-key', operatorKey], {
      TUSK_HOME: cliHome,
      TUSK_API_URL: test.deployment.apiUrl,
    });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain(`FINDING the bundle's keys: the bundle gives demo-buyer key ${forgedKey}`);
  }, 300_000);
  it("a rotation ends the old key's period: refused where it takes effect, by the log, and named by the audit", async () => {
    const old = party(test, 'rotating-sponsor');
    const lab = party(test, 'lab');
    const auditor = party(test, 'auditor').client;
    const grantOf = (client: TuskClient, grantId: string) => () =>
      client.get<GrantStatus>(`/grants/${grantId}`);
    const startGrant = async (grantId: string) => {
      const created = await old.client.request<GrantStatus>(
        'POST',
        '/grants',
        old.client.signed('grant', {
          grantId,
          granteeId: lab.id,
          milestones: [
            {
              milestoneId: 'report',
              name: 'final report',
              amount: '300',
              deadline: new Date(Date.now() + 180_000).toISOString(),
              check: { kind: 'sponsor_approval' },
            },
          ],
        }),
      );
      expect(created.status).toBe(201);
      const scope = (await waitFor(grantOf(old.client, grantId), (s) => s.stage === 'active')).scope!;
      await submitGrantEvidence(lab.client, grantId, 'report', 'the final report');
      return scope;
    };
    const before = `rotation-before-${crypto.randomUUID()}`;
    const after = `rotation-after-${crypto.randomUUID()}`;
    await startGrant(before);
    const afterScope = await startGrant(after);
    // Approved with the old key while it is the sponsor's current one: counts, then and in the audit.
    await approveMilestone(old.client, before, 'report');
    await waitFor(grantOf(old.client, before), (s) => s.stage === 'completed');

    // The sponsor rotates its key; the next signed request makes the API log the new registration.
    const rotated = generateEd25519KeyPair();
    await addParty(join(test.home, 'parties.json'), {
      id: old.id,
      role: 'sponsor',
      publicKey: rotated.publicKey,
    });
    const renewed = new TuskClient(test.deployment.apiUrl, old.id, rotated.privateKeyPem);
    const logged = await renewed.get<{ registrations: { registration: { publicKey: string } }[] }>(
      keyLogPath(old.id, 'party'),
    );
    expect(logged.registrations.map((r) => r.registration.publicKey)).toEqual([
      old.client.publicKey,
      rotated.publicKey,
    ]);

    // The retired key reads nothing: the same 401 as a key nobody registered.
    const askSignedWith = (pem: string) =>
      fetch(`${test.deployment.apiUrl}${keyLogPath(old.id, 'party')}`, {
        headers: signRequest(old.id, pem, {
          method: 'GET',
          url: keyLogPath(old.id, 'party'),
          body: '',
          timestamp: Date.now(),
        }),
      });
    const retiredRead = await askSignedWith(old.signingKeyPem);
    const strangerRead = await askSignedWith(generateEd25519KeyPair().privateKeyPem);
    expect([retiredRead.status, strangerRead.status]).toEqual([401, 401]);
    expect(await retiredRead.json()).toEqual(await strangerRead.json());
    // The owner of the retired key is told by its key check that its key is no longer current.
    const oldHome = join(test.home, 'rotated-sponsor-cli');
    await writeFileAtomic(keyPaths(oldHome, old.id).signing, old.signingKeyPem, 0o600);
    const checked = await tusk(['sponsor', 'key', 'check', '--as', old.id, '--operator-key', operatorKey], {
      TUSK_HOME: oldHome,
      TUSK_API_URL: test.deployment.apiUrl,
    });
    expect(checked.code, checked.stderr).toBe(1);
    expect(checked.stdout).toMatch(
      /^KEY NOT CURRENT: the log refuses to answer a request signed with your key/,
    );

    // An approval signed with the retired key, sent straight to Temporal: the coordinator refuses it.
    const labBefore = await test.deployment.ledger.balanceOf(lab.id);
    const retiredApproval = signDecision(old.signingKeyPem, {
      ...afterScope,
      action: 'milestone_approval',
      principal: old.id,
      content: { milestoneId: 'report' },
      notAfter: Date.now() + 600_000,
    });
    const handle = test.temporal.workflow.getHandle(grantWorkflowId(after));
    expect(
      await updateRefusal(
        handle.executeUpdate(approveMilestoneUpdate, { args: [{ signed: retiredApproval }] }),
      ),
    ).toMatch(/the signature is not rotating-sponsor's/);
    expect((await grantOf(renewed, after)()).milestones[0]!.stage).toBe('open');
    expect(await test.deployment.ledger.balanceOf(lab.id)).toBe(labBefore);

    // The current key approves; the lab is paid.
    await approveMilestone(renewed, after, 'report');
    await waitFor(grantOf(renewed, after), (s) => s.stage === 'completed');
    expect(await test.deployment.ledger.balanceOf(lab.id)).toBeGreaterThan(labBefore);

    // The audit, keys from the log: the old key's approval before the rotation and the new key's
    // after it both count; a history in which the retired key's approval counted is named.
    const decisionChecks = async (bundle: SignedBundle) => {
      const keys = await auditorKeysFromLog((path) => auditor.get(path), operatorKey, bundle);
      const report = await verifyBundle(bundle, { operatorKey, keys });
      return report.checks.filter(
        (c) => c.check.startsWith('signed decisions of') || c.check.startsWith("payer's key"),
      );
    };
    const bundleOf = (grantId: string) => renewed.get<SignedBundle>(`/grants/${grantId}/audit-bundle`);
    const statuses = async (grantId: string) =>
      (await decisionChecks(await bundleOf(grantId))).map((c) => c.status);
    expect(await statuses(before)).toEqual(['ok', 'ok']);
    const genuine = await bundleOf(after);
    expect((await decisionChecks(genuine)).map((c) => c.status)).toEqual(['ok', 'ok']);

    const signer = await loadOperatorSigner(join(test.home, 'keys', 'operator-signing.ed25519.pem'), false);
    const forged = signDocument(signer, {
      ...genuine.body,
      runs: genuine.body.runs.map((run) => ({
        ...run,
        history: withApprovalReplaced(run.history as HistoryJson, retiredApproval),
      })),
    });
    const named = (await decisionChecks(forged)).filter((c) => c.status === 'finding');
    expect(named).toHaveLength(1);
    expect(named[0]!.detail).toMatch(
      new RegExp(
        `^rotating-sponsor's milestone_approval \\(approveMilestone\\): signed with key ${old.client.publicKey}, retired at .* \\(log entry \\d+, registration 1\\), but took effect at .*: a retired key$`,
      ),
    );
  }, 300_000);
});

/** The history as an operator would rewrite it: the approval update carries `signed` instead. */
function withApprovalReplaced(history: HistoryJson, signed: unknown): HistoryJson {
  const copy = structuredClone(history);
  for (const event of copy.events) {
    const accepted = event.workflowExecutionUpdateAcceptedEventAttributes as
      | {
          acceptedRequest?: {
            input?: { name?: string; args?: { payloads?: { metadata: unknown; data: string }[] } };
          };
        }
      | undefined;
    const input = accepted?.acceptedRequest?.input;
    const payload = input?.args?.payloads?.[0];
    if (input?.name !== 'approveMilestone' || !payload) continue;
    const request = payloadValue(payload) as Record<string, unknown>;
    payload.data = Buffer.from(JSON.stringify({ ...request, signed })).toString('base64');
  }
  return copy;
}
