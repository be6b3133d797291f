import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunApprovedQueryInput } from '../../activities/perimeter/types';
import type { CheckMilestoneInput } from '../../activities/perimeter/milestone-check';
import { perimeterTaskQueue } from '../../lib/task-queues';
import { createHeKeys, readHeSecret } from '../../cli/buyer/he-keys';
import { keyPaths, writeFileAtomic } from '../../cli/common';
import { addParty } from '../../lib/parties';
import { keepSignedTerms } from '../../cli/settlement/kept-terms';
import type { SignedBundle } from '../../audit/bundle';
import { verifyBundle } from '../../audit/verify/verify-bundle';
import { BlobStore } from '../../lib/blob-store';
import { canonicalHash, canonicalJson } from '../../lib/canonical-json';
import { historyDataConverter } from '../../lib/codec/history-codec';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { encryptSelections } from '../../sdk/he-selection';
import type { HeSecretKeyFile } from '../../lib/he/buyer-keys';
import { decodeEnvelope, encodeEnvelope } from '../../lib/he/he-result';
import {
  encryptedAnswerCommitment,
  signReleaseStatement,
  termsHashOf,
  type ReleaseStatement,
} from '../../lib/release-statement';
import { buildResultPayload, resultCommitment, sealResult } from '../../lib/sealed-result';
import {
  checkRelease,
  checkVerdict,
  fetchDealResult,
  noPerimeterKeyProblem,
  registeredPerimeterKey,
  type SealedResult,
} from '../../sdk';
import { connectWorker } from '../../lib/temporal';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { CohortQueryDealInput, DealStatus } from '../../workflows/deal/state';
import type { GrantStatus } from '../../workflows/grant/state';
import type { SubscriptionStatus } from '../../workflows/subscription/state';
import { grantWorkflowId, subscriptionWorkflowId } from '../../lib/ids/workflow-ids';
import { tusk } from './cli/run-tusk';
import {
  dealTermsBody,
  RESEARCH_IN_US,
  startDealBehindTheApi,
  startDealWorkflow,
  startTestDeployment,
  type TestDeployment,
} from './harness';
import { LIFECYCLE_PARTIES, party, terminateRunning, waitFor } from './lifecycle-harness';
import { submitGrantEvidence } from '../../lib/signed-actions';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };
const GROUPS = [
  ['100', 'I10'],
  ['101', 'E11'],
];
const CHECK = 'release statements';

/**
 * Every release of a seller's perimeter carries its statement: HE answers, subscription deliveries and
 * milestone verdicts as well as sealed tables. The operator, answering the perimeter's task queue with
 * a worker of its own, can make up any of them; the buyer's client refuses what it makes up, and
 * `tusk audit verify` names it, with the seller's key taken from the transparency log.
 */
describe("the perimeter's statements of HE answers, deliveries and verdicts", () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  let secret: HeSecretKeyFile;
  let heHome: string;
  let cliHome: string;
  let operatorKey: string;
  const ids = {
    subscription: `sub-${crypto.randomUUID()}`,
    grant: `grant-${crypto.randomUUID()}`,
    probe: `probe-${crypto.randomUUID()}`,
    replayedGrant: `replayed-grant-${crypto.randomUUID()}`,
  };
  /** The perimeter's genuine verdicts on the probe grant: "met" for `enrolled`, "not met" for `scaled-up`. */
  let genuineVerdicts: { met: ReleaseStatement; notMet: ReleaseStatement };
  const buyer = () => test.deployment.buyer.client;

  /** A private selection deal as the operator would start it, and the terms the buyer signed for it. */
  async function selectionDeal(dealId: string, price = '2000') {
    const selectionRefs = await Promise.all(
      (await encryptSelections(secret, template, GROUPS)).map((bytes) => buyer().putBlob(bytes)),
    );
    const deal: Omit<CohortQueryDealInput, 'terms' | 'buyerKeyRef'> = {
      dealId,
      buyerId: 'demo-buyer',
      sellerId: test.seller.id,
      templateId: template.id,
      templateHash: templateHash(template),
      parameters: PARAMETERS,
      price,
      feeBps: 250,
      compliance: RESEARCH_IN_US,
      acceptanceTimeoutMs: 1_000,
      privateSelection: { heKeyRef: secret.keyRef, selectionRefs },
    };
    const body = dealTermsBody({ ...deal, buyerKeyRef: '' }, test.deployment.buyer);
    return { deal, body, terms: buyer().signTerms('cohort_query', body) };
  }

  /** What `tusk audit verify` says of a bundle's release statements, the seller's key read from the log. */
  async function releaseChecks(bundle: SignedBundle) {
    const key = await registeredPerimeterKey(buyer(), test.seller.id, operatorKey);
    const report = await verifyBundle(bundle, { operatorKey, perimeterKeys: { [test.seller.id]: key! } });
    return report.checks.filter((c) => c.check === CHECK);
  }

  const subscriptionBody = (subscriptionId: string) => ({
    subscriptionId,
    queries: [
      {
        templateId: template.id,
        sellerId: test.seller.id,
        templateHash: templateHash(template),
        parameters: PARAMETERS,
      },
    ],
    pricePerPeriod: '1000',
    periodSeconds: 2,
    periods: 1,
    buyerPublicKey: test.deployment.buyer.resultPublicKey,
    compliance: RESEARCH_IN_US,
  });

  /** A milestone checked in the seller's perimeter: at least `threshold` patients in the cohort. */
  const queryMilestone = (milestoneId: string, threshold: number, deadlineInMs: number) => ({
    milestoneId,
    name: `≥ ${threshold} participants enrolled`,
    amount: '600',
    deadline: new Date(Date.now() + deadlineInMs).toISOString(),
    check: {
      kind: 'query',
      sellerId: test.seller.id,
      templateId: template.id,
      templateHash: templateHash(template),
      parameters: PARAMETERS,
      metric: 'patients',
      threshold,
    },
  });
  const grantBody = (grantId: string, deadlineInMs = 120_000) => ({
    grantId,
    granteeId: 'lab',
    milestones: [queryMilestone('enrolled', 1000, deadlineInMs)],
  });

  /** A subscription's first period, delivered; the run ends there. */
  async function deliveredPeriod(subscriptionId: string) {
    const created = await buyer().request<SubscriptionStatus>(
      'POST',
      '/subscriptions',
      buyer().signed('subscription', subscriptionBody(subscriptionId)),
    );
    expect(created.status).toBe(201);
    const status = await waitFor(
      () => buyer().get<SubscriptionStatus>(`/subscriptions/${subscriptionId}`),
      (s) => s.deliveries.length > 0,
      120_000,
    );
    return { status, delivered: status.deliveries[0]!.results[0]! };
  }

  const grantStatus = (grantId: string) => () =>
    party(test, 'sponsor').client.get<GrantStatus>(`/grants/${grantId}`);
  const labBalance = () => test.deployment.ledger.balanceOf('lab');

  /** A grant whose milestones are checked in the perimeter once evidence comes in; its status once active. */
  async function activeGrant(body: ReturnType<typeof grantBody>) {
    const sponsor = party(test, 'sponsor').client;
    const signed = sponsor.signed('grant', body);
    // Kept where the sponsor's CLI checks verdicts against them.
    await keepSignedTerms(cliHome, sponsor, 'grant', body.grantId, signed);
    expect((await sponsor.request<GrantStatus>('POST', '/grants', signed)).status).toBe(201);
    return waitFor(grantStatus(body.grantId), (s) => s.stage === 'active');
  }

  /** Evidence for one milestone; the grant's status once that evidence's check has been recorded. */
  async function checkedMilestone(grantId: string, milestoneId: string) {
    const recorded = (s: GrantStatus) => s.milestones.find((m) => m.milestoneId === milestoneId)!;
    const earlier = recorded(await grantStatus(grantId)()).lastCheck?.at;
    await submitGrantEvidence(party(test, 'lab').client, grantId, milestoneId, 'enrolment log');
    return waitFor(
      grantStatus(grantId),
      (s) => {
        const milestone = recorded(s);
        return (
          milestone.stage !== 'checking' && milestone.stage !== 'met' && milestone.lastCheck?.at !== earlier
        );
      },
      120_000,
    ).then(recorded);
  }

  beforeAll(async () => {
    test = await startTestDeployment(
      'release-statements',
      async (seller) => {
        template = await seller.publishDemoTemplate();
      },
      {
        parties: LIFECYCLE_PARTIES,
        buyerFunds: 100_000n,
        env: { TUSK_MIN_PERIOD_MS: '1000', TUSK_PERIODS_PER_RUN: '1' },
      },
    );
    heHome = await mkdtemp(join(tmpdir(), 'tusk-he-release-'));
    cliHome = await mkdtemp(join(tmpdir(), 'tusk-cli-release-'));
    await createHeKeys(buyer(), heHome, test.deployment.buyer.id);
    secret = await readHeSecret(heHome, test.deployment.buyer.id);
    await writeFileAtomic(
      keyPaths(cliHome, 'demo-buyer').signing,
      test.deployment.buyer.signingKeyPem,
      0o600,
    );
    await writeFileAtomic(keyPaths(cliHome, 'demo-buyer').result, test.deployment.buyer.resultKeyPem, 0o600);
    await writeFileAtomic(keyPaths(cliHome, 'sponsor').signing, party(test, 'sponsor').signingKeyPem, 0o600);
    operatorKey = (await buyer().get<{ publicKey: string }>('/operator/key')).publicKey;
  }, 300_000);
  afterAll(async () => {
    if (test)
      await terminateRunning(test.temporal, [
        subscriptionWorkflowId(ids.subscription),
        ...[ids.grant, ids.probe, ids.replayedGrant].map((id) => grantWorkflowId(id)),
      ]);
    await test?.close();
    for (const dir of [heHome, cliHome]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('genuine releases', () => {
    let genuineSelection: { sealed: SealedResult; dealId: string };

    it('a private selection: the statement names the encrypted answer, and the buyer accepts it', async () => {
      const { deal, terms } = await selectionDeal(`selection-${crypto.randomUUID()}`);
      const status = await startDealBehindTheApi(test, { ...deal, terms });
      expect(status.problem).toBeUndefined();
      const sealed = await fetchDealResult(buyer(), deal.dealId);
      expect(sealed.release?.body).toMatchObject({
        kind: 'he_selection',
        dealId: deal.dealId,
        sellerId: test.seller.id,
        termsHash: termsHashOf(terms),
        commitment: sealed.commitment,
      });
      const check = await checkRelease(buyer(), sealed, test.seller.id, operatorKey, {
        kind: 'he_selection',
        termsHash: termsHashOf(terms),
      });
      expect(check).toMatchObject({ ok: true });
      // The same statement does not vouch for other bytes, nor for a sealed table.
      const envelope = decodeEnvelope(Buffer.from(sealed.ciphertext, 'base64'));
      const otherBytes = encodeEnvelope({ ...envelope, groups: envelope.groups + 1 });
      expect(
        await checkRelease(
          buyer(),
          { ...sealed, ciphertext: Buffer.from(otherBytes).toString('base64') },
          test.seller.id,
          operatorKey,
        ),
      ).toMatchObject({ ok: false, problems: [expect.stringMatching(/not the one committed to/)] });
      expect(
        await checkRelease(buyer(), sealed, test.seller.id, operatorKey, { kind: 'sealed_table' }),
      ).toMatchObject({
        ok: false,
        problems: ['it states a he_selection release, not the sealed_table delivered'],
      });
      const bundle = await buyer().get<SignedBundle>(`/deals/${deal.dealId}/audit-bundle`);
      expect(await releaseChecks(bundle)).toMatchObject([{ status: 'ok' }]);
      genuineSelection = { sealed, dealId: deal.dealId };
    });

    it("the buyer's CLI refuses an answer to other terms than the ones it kept, or to terms it did not keep", async () => {
      // The buyer signed these terms (kept in its home), and the operator ran others it also signed.
      const { deal, body } = await selectionDeal(`terms-${crypto.randomUUID()}`);
      const other = await selectionDeal(deal.dealId, '4000');
      await keepSignedTerms(
        cliHome,
        buyer(),
        'cohort_query',
        deal.dealId,
        buyer().signed('cohort_query', body),
      );
      const status = await startDealBehindTheApi(test, { ...deal, ...other.deal, terms: other.terms });
      expect(status.problem).toBeUndefined();
      const env = {
        TUSK_HOME: cliHome,
        TUSK_API_URL: test.deployment.apiUrl,
        TUSK_OPERATOR_KEY: operatorKey,
      };
      const refused = await tusk(['buyer', 'result', deal.dealId, '--as', 'demo-buyer'], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        `refusing the answer of ${deal.dealId}: seller ${test.seller.id}'s perimeter released it for other terms than the ones you signed and kept here`,
      );
      // No terms kept for a deal: nothing is accepted either.
      const unknown = await tusk(['buyer', 'result', genuineSelection.dealId, '--as', 'demo-buyer'], env);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain(`no cohort_query terms signed here for ${genuineSelection.dealId}`);
    });

    it("a genuine grant: the perimeter's signed 'met' pays its tranche, its signed 'not met' pays nothing", async () => {
      await activeGrant({
        ...grantBody(ids.probe),
        milestones: [queryMilestone('enrolled', 1000, 600_000), queryMilestone('scaled-up', 1e9, 600_000)],
      });
      const before = await labBalance();
      const met = await checkedMilestone(ids.probe, 'enrolled');
      expect(met).toMatchObject({ stage: 'released', lastCheck: { met: true } });
      const notMet = await checkedMilestone(ids.probe, 'scaled-up');
      expect(notMet).toMatchObject({ stage: 'open', lastCheck: { met: false } });
      expect(notMet.lastCheck?.problem).toBeUndefined();
      expect(await labBalance()).toBeGreaterThan(before);
      genuineVerdicts = { met: met.lastCheck!.release!, notMet: notMet.lastCheck!.release! };
    });

    it('a seller with no perimeter key in the log: the buyer refuses, and is told what to do', async () => {
      const keyless = 'seller-without-perimeter-key';
      await addParty(join(test.home, 'parties.json'), {
        id: keyless,
        role: 'seller',
        publicKey: generateEd25519KeyPair().publicKey,
      });
      const check = await waitFor(
        () => checkRelease(buyer(), genuineSelection.sealed, keyless, operatorKey),
        (c) => !c.ok,
      );
      expect(check).toEqual({ ok: false, problems: [noPerimeterKeyProblem(keyless)] });
      expect(noPerimeterKeyProblem(keyless)).toContain(
        `tusk operator party add ${keyless} --from seller.json`,
      );
    });
  });

  describe('releases the operator makes up on the perimeter task queue', () => {
    let fake: Worker;
    let running: Promise<void>;
    let connection: Awaited<ReturnType<typeof connectWorker>>;
    let replayed: ReleaseStatement;
    /** The genuine verdicts the fake perimeter passes off as "met", in order. */
    const passOff: ReleaseStatement[] = [];
    const blobs = () => new BlobStore(join(test.home, 'blobs'));

    beforeAll(async () => {
      // A genuine statement of another deal: the operator replays it with its made-up answer.
      const { deal, terms } = await selectionDeal(`replayed-${crypto.randomUUID()}`);
      const genuine = await startDealBehindTheApi(test, { ...deal, terms });
      replayed = genuine.result!.release!;
      const genuineEnvelope = decodeEnvelope(await blobs().get(genuine.result!.resultRef));
      await test.deployment.services.get('perimeter worker')!.stop();
      connection = await connectWorker(inject('temporalAddress'));
      fake = await Worker.create({
        connection,
        dataConverter: historyDataConverter(test.codec),
        taskQueue: perimeterTaskQueue(test.seller.id),
        activities: {
          reservePrivacyBudget: async () => ({ epsilon: 0, repeat: false }),
          releasePrivacyBudget: async () => undefined,
          runApprovedQuery: async (input: RunApprovedQueryInput) => {
            if (input.privateSelection) {
              // Another deal's ciphertexts, relabelled: they open under the buyer's key.
              const resultRef = await blobs().put(
                encodeEnvelope({ ...genuineEnvelope, dealId: input.dealId }),
              );
              const release = input.dealId.startsWith('made-up-replayed') ? { release: replayed } : {};
              return {
                resultRef,
                commitment: encryptedAnswerCommitment(resultRef),
                epsilonSpent: 0,
                repeat: false,
                ...release,
              };
            }
            // A subscription's delivery: a table the seller never released, sealed to the buyer's key.
            const payload = buildResultPayload(
              {
                dealId: input.dealId,
                templateId: input.templateId,
                templateHash: input.templateHash,
                parameters: input.parameters,
              },
              {
                columns: ['zip3', 'diagnosis', 'patients', 'total_cost'],
                rows: [['100', 'I10', 5000, 1]],
                privacy: replayedPrivacy(),
              },
            );
            const rowsBytes = Buffer.byteLength(canonicalJson(payload.rows));
            const resultRef = await blobs().put(
              await sealResult(payload, test.deployment.buyer.resultPublicKey, rowsBytes),
            );
            const impostor = signReleaseStatement(
              {
                type: 'tusk.release/v1',
                kind: 'subscription_delivery',
                sellerId: test.seller.id,
                dealId: input.dealId,
                termsHash: termsHashOf(input.terms),
                commitment: resultCommitment(payload),
                epsilonCharged: 1,
                deltaCharged: 0,
                datasetPolicy: { version: 1, hash: 'made-up' },
              },
              generateEd25519KeyPair(),
            );
            return {
              resultRef,
              commitment: resultCommitment(payload),
              epsilonSpent: 1,
              repeat: false,
              release: impostor,
            };
          },
          // "Met", whatever the data says: made up, or with a genuine statement the operator kept.
          checkMilestone: async (input: CheckMilestoneInput) => {
            const passedOff = input.grantId === ids.grant ? undefined : passOff.shift();
            if (passedOff) return { met: true, statementHash: passedOff.body.commitment, release: passedOff };
            return {
              met: true,
              statementHash: canonicalHash({
                grantId: input.grantId,
                milestoneId: input.milestoneId,
                met: true,
              }),
            };
          },
        },
      });
      running = fake.run();
    }, 180_000);
    afterAll(async () => {
      fake?.shutdown();
      await running;
      await connection?.close();
      await test.deployment.restart('perimeter worker');
    });

    it("a made-up HE answer: unsigned or with another deal's statement, the buyer refuses it and settlement pays nothing for it", async () => {
      for (const variant of ['unsigned', 'replayed'] as const) {
        const { deal, terms } = await selectionDeal(`made-up-${variant}-${crypto.randomUUID()}`);
        const sellerBefore = await test.deployment.ledger.balanceOf(test.seller.id);
        const handle = await startDealWorkflow(test, { ...deal, terms });
        // The acceptance timer ends, but settlement was never shown the seller's signed release of
        // this deal: the payout is refused and the deal waits, the seller unpaid.
        const waiting = await waitFor(
          () => buyer().get<DealStatus>(`/deals/${deal.dealId}`),
          (s) => s.stage === 'needs_attention',
          120_000,
        );
        expect(waiting.result?.resultRef).toMatch(/^sha256:/);
        expect(waiting.attention?.[0]).toMatchObject({
          step: 'release',
          code: variant === 'unsigned' ? 'AcceptanceWindowOpen' : 'ReleaseUnsigned',
        });
        expect(await test.deployment.ledger.balanceOf(test.seller.id)).toBe(sellerBefore);
        const sealed = await fetchDealResult(buyer(), deal.dealId);
        const check = await checkRelease(buyer(), sealed, test.seller.id, operatorKey, {
          kind: 'he_selection',
          termsHash: termsHashOf(terms),
        });
        if (variant === 'unsigned')
          expect(check).toEqual({
            ok: false,
            problems: ['no well-formed release statement signed by the seller comes with the answer'],
          });
        else
          expect(check).toMatchObject({
            ok: false,
            problems: expect.arrayContaining([
              `it releases deal ${replayed.body.dealId}, not ${deal.dealId}`,
              'it answers other terms than the ones the buyer signed',
            ]),
          });
        await handle.terminate('a made-up answer: nothing to pay');
      }
    });

    it("a made-up subscription delivery signed by another key: the subscriber's client refuses it, verify names it", async () => {
      const { delivered } = await deliveredPeriod(ids.subscription);
      expect('resultRef' in delivered).toBe(true);
      // The statement names the seller: an auditor's redacted view carries none.
      const seenByAuditor = await party(test, 'auditor').client.get(`/subscriptions/${ids.subscription}`);
      expect(JSON.stringify(seenByAuditor)).not.toContain(test.seller.id);
      if (!('resultRef' in delivered)) return;
      const check = await checkRelease(
        buyer(),
        {
          dealId: delivered.runId,
          commitment: delivered.commitment,
          ...(delivered.release ? { release: delivered.release } : {}),
        },
        test.seller.id,
        operatorKey,
        { kind: 'subscription_delivery' },
      );
      expect(check).toMatchObject({
        ok: false,
        problems: [expect.stringMatching(/not the seller's registered perimeter key/)],
      });
      const bundle = await waitFor(
        () =>
          buyer()
            .get<SignedBundle>(`/subscriptions/${ids.subscription}/periods/1/audit-bundle`)
            .catch(() => undefined),
        (b) => b !== undefined,
        120_000,
      );
      const findings = await releaseChecks(bundle!);
      expect(findings).toMatchObject([
        { status: 'finding', detail: expect.stringMatching(/not the seller's registered perimeter key/) },
      ]);
    });

    it("genuine verdicts passed off as 'met': 'not met', another milestone's, another grant's: settlement pays nothing", async () => {
      const before = await labBalance();
      const refused = { stage: 'open', lastCheck: { met: false, problem: 'TrancheUnproven' } };
      // The probe grant's own "not met" for scaled-up, then its "met" for enrolled, each sent as "met".
      passOff.push(genuineVerdicts.notMet, genuineVerdicts.met);
      expect(await checkedMilestone(ids.probe, 'scaled-up')).toMatchObject(refused);
      expect(await checkedMilestone(ids.probe, 'scaled-up')).toMatchObject(refused);
      // The probe grant's "met" for enrolled, sent for the same milestone of another grant.
      passOff.push(genuineVerdicts.met);
      await activeGrant(grantBody(ids.replayedGrant));
      expect(await checkedMilestone(ids.replayedGrant, 'enrolled')).toMatchObject(refused);
      expect(passOff).toEqual([]);
      expect(await labBalance()).toBe(before);
    });

    it("a made-up milestone verdict: settlement pays nothing, the sponsor's check refuses it and verify names it", async () => {
      const before = await labBalance();
      // A deadline that passes soon after the check: the grant ends, and its bundle can be read.
      const started = Date.now();
      await activeGrant(grantBody(ids.grant, 40_000));
      const milestone = await checkedMilestone(ids.grant, 'enrolled');
      expect(Date.now() - started).toBeLessThan(40_000);
      expect(milestone).toMatchObject({
        stage: 'open',
        lastCheck: { met: false, problem: 'TrancheUnproven' },
      });
      expect(await labBalance()).toBe(before);
      const sponsor = party(test, 'sponsor').client;
      const check = await checkVerdict(sponsor, ids.grant, milestone, test.seller.id, operatorKey);
      expect(check).toEqual({
        ok: false,
        problems: ['no well-formed release statement signed by the seller comes with the answer'],
      });
      const verdicts = await tusk(['sponsor', 'grant', 'verdicts', ids.grant, '--as', 'sponsor'], {
        TUSK_HOME: cliHome,
        TUSK_API_URL: test.deployment.apiUrl,
        TUSK_OPERATOR_KEY: operatorKey,
      });
      expect(verdicts.code).toBe(1);
      expect(verdicts.stdout).toContain(
        "enrolled: not met, NOT the seller's verdict: no well-formed release statement signed by the seller comes with the answer",
      );
      // Its deadline passes unmet: the grant ends, the tranche goes back to the sponsor.
      const ended = await waitFor(grantStatus(ids.grant), (s) => s.stage === 'ended', 120_000);
      expect(ended).toMatchObject({ refunded: '600', milestones: [{ stage: 'missed' }] });
      expect(await labBalance()).toBe(before);
      const bundle = await waitFor(
        () => sponsor.get<SignedBundle>(`/grants/${ids.grant}/audit-bundle`).catch(() => undefined),
        (b) => b !== undefined,
        120_000,
      );
      expect(await releaseChecks(bundle!)).toEqual([
        {
          check: CHECK,
          status: 'finding',
          detail: `the release of ${ids.grant} milestone enrolled check 1 carries no statement of its seller's perimeter: the seller did not release it`,
        },
      ]);
    });
  });

  /** Privacy figures for the made-up table: they only need to parse. */
  function replayedPrivacy() {
    return {
      mechanism: 'discrete_laplace' as const,
      epsilonSpent: 1,
      delta: 0,
      minCohortSize: 10,
      noiseScales: { patients: 1, total_cost: 1 },
      groupRelease: { kind: 'declared_domain' as const },
    };
  }
});
