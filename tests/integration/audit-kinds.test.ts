import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeKeys, readHeSecret } from '../../cli/buyer/he-keys';
import type { SignedBundle } from '../../audit/bundle';
import type { HistoryJson } from '../../audit/history-json';
import { loadOperatorSigner, type OperatorSigner } from '../../lib/transparency/operator-key';
import type { SignedReceipt } from '../../audit/receipt';
import { signDocument } from '../../lib/transparency/signed-document';
import type { AuditReport } from '../../audit/verify/report';
import { verifyBundle } from '../../audit/verify/verify-bundle';
import { verdictChargesOf } from '../../audit/verify/verdict-charges';
import { readPrivacyEntries } from '../../audit/privacy-entries';
import { milestoneChargeId } from '../../lib/ids/run-ids';
import { auditorKeysFromLog } from '../../audit/verify/auditor-keys';
import { checkContributions, fetchDealResult, registeredPerimeterKey } from '../../sdk';
import { keepSignedTerms } from '../../cli/settlement/kept-terms';
import { keyPaths, writeFileAtomic } from '../../cli/common';
import { tusk as runTusk } from './cli/run-tusk';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { DealStatus } from '../../workflows/deal/state';
import type { DisclosureDecision, DisclosureStatus } from '../../workflows/disclosure/state';
import type { DisputeOutcome } from '../../workflows/dispute/state';
import type { GrantStatus } from '../../workflows/grant/state';
import type { MultiSellerDealStatus } from '../../workflows/multi-seller/shapes';
import type { SubscriptionStatus } from '../../workflows/subscription/state';
import {
  disclosureWorkflowId,
  disputeWorkflowId,
  grantWorkflowId,
  subscriptionWorkflowId,
} from '../../lib/ids/workflow-ids';
import { buyDeal, RESEARCH_IN_US, startTestDeployment, TestSeller, type TestDeployment } from './harness';
import {
  LIFECYCLE_PARTIES,
  party,
  signedBy,
  terminateRunning,
  updateRefusal,
  waitFor,
} from './lifecycle-harness';
import {
  approveOutcome,
  confirmDeal,
  decideDisclosure,
  exportDealBundle,
  openDispute,
  submitGrantEvidence,
} from '../../lib/signed-actions';
import { recordBundleExportUpdate } from '../../workflows/disclosure/workflow';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };
const VIEW_MS = 20_000;
const TUSK = join(__dirname, '../../bin/tusk');

const findingsOf = (report: AuditReport) =>
  report.checks.filter((c) => c.status === 'finding').map((c) => `${c.check}: ${c.detail}`);
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const resign = (signer: OperatorSigner, bundle: SignedBundle): SignedBundle =>
  signDocument(signer, bundle.body);

type Payload = { data: string };
const payloadOf = (event: Record<string, unknown>, path: string[]): Payload => {
  let value: unknown = event;
  for (const key of path) value = (value as Record<string, unknown>)[key];
  return value as Payload;
};
const decode = (p: Payload) =>
  JSON.parse(Buffer.from(p.data, 'base64').toString()) as Record<string, unknown>;
const encode = (p: Payload, value: unknown) => {
  p.data = Buffer.from(JSON.stringify(value)).toString('base64');
};

/** The completed result of the first activity of this type (and input) in any run, to change it. */
function activityResult(
  bundle: SignedBundle,
  activityType: string,
  matches: (input: Record<string, unknown>) => boolean = () => true,
) {
  for (const run of bundle.body.runs) {
    const events = (run.history as HistoryJson).events;
    const scheduled = events.find((e) => {
      const attributes = e.activityTaskScheduledEventAttributes as
        { activityType?: { name: string }; input?: { payloads: Payload[] } } | undefined;
      return (
        attributes?.activityType?.name === activityType && matches(decode(attributes.input!.payloads[0]!))
      );
    });
    if (!scheduled) continue;
    const done = events.find(
      (e) =>
        String(
          (e.activityTaskCompletedEventAttributes as { scheduledEventId?: string } | undefined)
            ?.scheduledEventId,
        ) === scheduled.eventId,
    )!;
    const payload = payloadOf(done, ['activityTaskCompletedEventAttributes', 'result', 'payloads', '0']);
    return { value: decode(payload), set: (value: unknown) => encode(payload, value) };
  }
  throw new Error(`no ${activityType} in the bundle`);
}

describe('audit bundles of every kind: multi-seller, disputed, grant, subscription period, disclosure', () => {
  let test: TestDeployment;
  let sellers: TestSeller[] = [];
  const templates = new Map<string, QueryTemplate>();
  let operatorKey: string;
  let signer: OperatorSigner;
  let keyHome: string;
  const ids = {
    multi: `multi-${crypto.randomUUID()}`,
    disputed: '',
    grant: `grant-${crypto.randomUUID()}`,
    subscription: `sub-${crypto.randomUUID()}`,
    disclosure: `disclosure-${crypto.randomUUID()}`,
  };
  const as = (id: string) => party(test, id).client;
  const buyer = () => test.deployment.buyer.client;
  /** The principals' keys as an auditor reads them from the log, under the operator key it pins. */
  const logKeys = (bundle: SignedBundle) =>
    auditorKeysFromLog((path) => as('auditor').get(path), operatorKey, bundle);

  /** Runs the CLI as a party would, with its key in a CLI home. */
  async function tusk(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const home = join(test.home, 'cli');
    await mkdir(join(home, 'keys'), { recursive: true });
    for (const id of ['sponsor', 'auditor'])
      await writeFile(join(home, 'keys', `${id}.ed25519.pem`), party(test, id).signingKeyPem, {
        mode: 0o600,
      });
    return new Promise((resolve) => {
      execFile(
        TUSK,
        args,
        { env: { ...process.env, TUSK_HOME: home, TUSK_API_URL: test.deployment.apiUrl }, timeout: 120_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  /** Each seller's perimeter key as the transparency log registers it, proven under the operator's key. */
  async function loggedPerimeterKeys(): Promise<Record<string, string>> {
    const keys: Record<string, string> = {};
    for (const seller of sellers)
      keys[seller.id] = (await registeredPerimeterKey(buyer(), seller.id, operatorKey))!;
    return keys;
  }

  async function multiSellerDeal(): Promise<void> {
    const secret = await readHeSecret(keyHome, test.deployment.buyer.id);
    const hashOf = (seller: TestSeller) => templateHash(templates.get(seller.id)!);
    const signed = buyer().signed('multi_seller', {
      dealId: ids.multi,
      templateId: templates.get(sellers[0]!.id)!.id,
      sellers: sellers.map((seller) => ({
        sellerId: seller.id,
        templateHash: hashOf(seller),
        price: '1000',
      })),
      parameters: PARAMETERS,
      price: '2000',
      heKeyRef: secret.keyRef,
      compliance: RESEARCH_IN_US,
    });
    // Kept where the buyer's CLI (beside its HE key) checks the sum's statements against them.
    await keepSignedTerms(keyHome, buyer(), 'multi_seller', ids.multi, signed);
    const created = await buyer().request<MultiSellerDealStatus>('POST', '/multi-seller-deals', signed);
    expect(created.status).toBe(201);
    const status = () => buyer().get<MultiSellerDealStatus>(`/multi-seller-deals/${ids.multi}`);
    await waitFor(status, (s) => s.stage === 'delivered' || s.problem !== undefined, 180_000);
    await confirmDeal(buyer(), ids.multi, 'multi_seller');
    await test.temporal.workflow.getHandle(ids.multi).result();
  }

  /** A one-time deal the buyer disputes; two compliance principals approve a 40/60 split. */
  async function disputedDeal(): Promise<void> {
    const deal = await buyDeal(
      test.deployment,
      'cohort-cost-by-zip3',
      PARAMETERS,
      undefined,
      test.deployment.buyer,
      sellers[0]!.id,
    );
    ids.disputed = deal.dealId;
    await deal.delivered();
    await openDispute<DealStatus>(buyer(), ids.disputed, 'the table is empty');
    const split: DisputeOutcome = { kind: 'split', sellerBps: 4000 };
    for (const principal of ['compliance-1', 'compliance-2'])
      await waitFor(
        () =>
          approveOutcome(as(principal), ids.disputed, split)
            .then(() => true)
            .catch(() => false),
        (done) => done,
      );
    await test.temporal.workflow.getHandle(ids.disputed).result();
  }

  /** One tranche met by a perimeter check, the other missed at its deadline and refunded. */
  async function grant(): Promise<void> {
    const sponsor = as('sponsor');
    const template = templates.get(sellers[0]!.id)!;
    const now = Date.now();
    const signed = sponsor.signed('grant', {
      grantId: ids.grant,
      granteeId: 'lab',
      milestones: [
        {
          milestoneId: 'enrolled',
          name: '≥ 1,000 participants enrolled',
          amount: '600',
          deadline: new Date(now + 120_000).toISOString(),
          check: {
            kind: 'query',
            sellerId: sellers[0]!.id,
            templateId: template.id,
            templateHash: templateHash(template),
            parameters: PARAMETERS,
            metric: 'patients',
            threshold: 1000,
          },
        },
        {
          milestoneId: 'published',
          name: 'paper published',
          amount: '400',
          deadline: new Date(now + 20_000).toISOString(),
          check: { kind: 'sponsor_approval' },
        },
      ],
    });
    // Kept where the sponsor's CLI (tusk() below) checks the verdicts against them.
    await keepSignedTerms(join(test.home, 'cli'), sponsor, 'grant', ids.grant, signed);
    const created = await sponsor.request<GrantStatus>('POST', '/grants', signed);
    expect(created.status).toBe(201);
    const status = () => sponsor.get<GrantStatus>(`/grants/${ids.grant}`);
    await waitFor(status, (s) => s.stage === 'active');
    await submitGrantEvidence(as('lab'), ids.grant, 'enrolled', 'enrolment log');
    await test.temporal.workflow.getHandle(grantWorkflowId(ids.grant)).result();
  }

  /** A subscription with 2 s periods and a new run every period: period 2 lives in the second run. */
  async function subscription(): Promise<void> {
    const template = templates.get(sellers[0]!.id)!;
    const created = await buyer().request<SubscriptionStatus>(
      'POST',
      '/subscriptions',
      buyer().signed('subscription', {
        subscriptionId: ids.subscription,
        queries: [
          {
            templateId: template.id,
            sellerId: sellers[0]!.id,
            templateHash: templateHash(template),
            parameters: PARAMETERS,
          },
        ],
        pricePerPeriod: '1000',
        periodSeconds: 2,
        buyerPublicKey: test.deployment.buyer.resultPublicKey,
        compliance: RESEARCH_IN_US,
      }),
    );
    expect(created.status).toBe(201);
    // A period's receipt exists once its charge is released to the seller.
    await waitFor(
      () =>
        buyer()
          .get<SignedReceipt>(`/subscriptions/${ids.subscription}/periods/2/receipt`)
          .catch(() => undefined),
      (receipt) => receipt !== undefined,
      180_000,
    );
    // Two periods are all this suite audits: no more queries on a busy machine.
    await test.temporal.workflow.getHandle(subscriptionWorkflowId(ids.subscription)).terminate('audited');
  }

  beforeAll(async () => {
    test = await startTestDeployment(
      'audit-kinds',
      async (first) => {
        sellers = [first, new TestSeller(`${first.id}-b`, first.policiesRoot)];
        for (const seller of sellers) {
          templates.set(seller.id, await seller.publishDemoTemplate());
          await seller.publishDatasetPolicy();
        }
      },
      () => ({
        parties: LIFECYCLE_PARTIES,
        buyerFunds: 100_000n,
        acceptanceTimeoutMs: 120_000,
        extraSellers: [
          { sellerId: sellers[1]!.id, sellerPublicKey: sellers[1]!.keys.publicKey, rows: 20_000 },
        ],
        env: {
          TUSK_MIN_PERIOD_MS: '1000',
          TUSK_PERIODS_PER_RUN: '1',
          TUSK_DISCLOSURE_VIEW_MS: String(VIEW_MS),
          TUSK_DISPUTE_TIMEOUT_MS: '300000',
        },
      }),
    );
    keyHome = await mkdtemp(join(tmpdir(), 'tusk-he-audit-kinds-'));
    await createHeKeys(buyer(), keyHome, test.deployment.buyer.id);
    operatorKey = (await buyer().get<{ publicKey: string }>('/operator/key')).publicKey;
    signer = await loadOperatorSigner(join(test.home, 'keys', 'operator-signing.ed25519.pem'), false);
    // The kinds run side by side: one deployment, the wall time of the slowest.
    await Promise.all([multiSellerDeal(), disputedDeal(), grant(), subscription()]);
  }, 600_000);
  afterAll(async () => {
    if (test)
      await terminateRunning(test.temporal, [
        subscriptionWorkflowId(ids.subscription),
        disclosureWorkflowId(ids.disclosure),
      ]);
    await test?.close();
    if (keyHome) await rm(keyHome, { recursive: true, force: true });
  });

  it('a multi-seller deal: both shares escrowed and paid, both templates signed, verifies clean', async () => {
    const bundle = await buyer().get<SignedBundle>(`/deals/${ids.multi}/audit-bundle`);
    expect(bundle.body.subject).toEqual({ kind: 'deal', dealId: ids.multi });
    expect(bundle.body.receipt?.body.kind).toBe('multi_seller');
    expect(bundle.body.receipt?.openings?.amounts?.value).toMatchObject({
      deposits: '2000',
      payouts: sellers.map((s) => ({ to: s.id, amount: '975' })),
      fee: '50',
    });
    expect(
      bundle.body.settlement.ledgerLines.map((l) => (JSON.parse(l.text) as { kind: string }).kind),
    ).toEqual(['lock', 'lock', 'release', 'release']);
    const report = await verifyBundle(bundle, { operatorKey });
    expect(findingsOf(report)).toEqual([]);
    expect(report.checks.filter((c) => c.check.startsWith('template and seller signature'))).toHaveLength(2);
    // Each seller's part of the sum is a release of its dataset, charged once at its template's cost.
    expect(report.checks.find((c) => c.check === 'privacy charges')?.status).toBe('ok');
    // The buyer's CLI opens the sum only once each contributor's statement checks out.
    await writeFileAtomic(
      keyPaths(keyHome, 'demo-buyer').signing,
      test.deployment.buyer.signingKeyPem,
      0o600,
    );
    const env = { TUSK_HOME: keyHome, TUSK_API_URL: test.deployment.apiUrl, TUSK_OPERATOR_KEY: operatorKey };
    const opened = await runTusk(['buyer', 'result', ids.multi, '--as', 'demo-buyer', '--json'], env);
    expect(opened.code, opened.stderr).toBe(0);
    expect(JSON.parse(opened.stdout)).toMatchObject({ kind: 'sum', contributors: 2 });
    // Status finds the multi-seller deal without being told it is one.
    const shown = await runTusk(['buyer', 'status', ids.multi, '--as', 'demo-buyer'], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ dealId: ids.multi });
    // The buyer's client: each contributor's perimeter signed its own part of this sum.
    const sealed = await fetchDealResult(buyer(), ids.multi, true);
    const contributors = sellers.map((s) => s.id);
    expect(await checkContributions(buyer(), sealed, contributors, operatorKey)).toEqual({ ok: true });
    const oneMissing = { ...sealed, releases: sealed.releases!.slice(1) };
    expect(await checkContributions(buyer(), oneMissing, contributors, operatorKey)).toEqual({
      ok: false,
      problems: [
        `seller ${sellers[0]!.id}: no well-formed release statement signed by the seller comes with the answer`,
      ],
    });
    // Each seller's perimeter signed its own contribution, under the key the log registers for it.
    const keys = await loggedPerimeterKeys();
    const signed = await verifyBundle(bundle, { operatorKey, perimeterKeys: keys });
    expect(findingsOf(signed)).toEqual([]);
    expect(signed.checks.filter((c) => c.check === 'release statements')).toEqual(
      sellers.map((s) => ({
        check: 'release statements',
        status: 'ok',
        detail: `${ids.multi} (${s.id}'s contribution): signed by ${s.id}'s perimeter`,
      })),
    );
    const unsigned = clone(bundle);
    const part = activityResult(unsigned, 'encryptContribution');
    part.set({ ...part.value, release: undefined });
    expect(
      findingsOf(await verifyBundle(resign(signer, unsigned), { operatorKey, perimeterKeys: keys })),
    ).toContainEqual(expect.stringMatching(/^release statements: the release of .* carries no statement/));
    const overcharged = clone(bundle);
    const contribution = activityResult(overcharged, 'encryptContribution');
    contribution.set({ ...contribution.value, epsilonSpent: 5 });
    expect(findingsOf(await verifyBundle(resign(signer, overcharged), { operatorKey }))).toContainEqual(
      expect.stringMatching(/^privacy charges: a (fresh|repeated) answer was charged ε 5;/),
    );

    // A share paid out at less than it was: re-signed, the money no longer adds up.
    const doctored = clone(bundle);
    const release = activityResult(doctored, 'releaseEscrow');
    release.set({ ...release.value, sellerAmount: '900' });
    expect(findingsOf(await verifyBundle(resign(signer, doctored), { operatorKey }))).toContainEqual(
      'money conservation: money is not conserved: deposits 2000 ≠ payouts 1875 + fees 50 + refunds 0 = 1925',
    );
  });

  it('a disputed deal: the dispute child replays, its two approvals are distinct, the split adds up', async () => {
    const bundle = await buyer().get<SignedBundle>(`/deals/${ids.disputed}/audit-bundle`);
    expect(bundle.body.runs.map((r) => r.workflowType)).toEqual(['cohortQueryDeal', 'dispute']);
    expect(bundle.body.receipt?.openings?.amounts?.value).toMatchObject({
      deposits: '1000',
      payouts: [{ to: test.seller.id, amount: '390' }],
      fee: '10',
      refunds: [{ to: test.deployment.buyer.id, amount: '600' }],
    });
    const report = await verifyBundle(bundle, {
      operatorKey,
      ledgerFile: test.deployment.ledger.path,
      keys: await logKeys(bundle),
    });
    expect(findingsOf(report)).toEqual([]);
    expect(report.checks).toContainEqual({
      check: `approvals of ${disputeWorkflowId(ids.disputed)}`,
      status: 'ok',
      detail: '2 signed approvals, distinct principals and keys',
    });

    const doctored = clone(bundle);
    const split = activityResult(doctored, 'splitEscrow');
    split.set({ ...split.value, buyerAmount: '700' });
    expect(findingsOf(await verifyBundle(resign(signer, doctored), { operatorKey }))).toContainEqual(
      'money conservation: money is not conserved: deposits 1000 ≠ payouts 390 + fees 10 + refunds 700 = 1100',
    );
  });

  it("the seller's own copy: its perimeter's ledger entries attached by its CLI, charges and budget recomputed", async () => {
    const ledgerFile = join(test.deployment.perimeterStateDir, 'privacy-ledger.sqlite');
    const policies = test.seller.directory;
    const file = join(test.home, 'seller-copy.json');
    await mkdir(join(test.home, 'cli', 'keys'), { recursive: true });
    await writeFile(
      join(test.home, 'cli', 'keys', `${test.seller.id}.ed25519.pem`),
      test.seller.keys.privateKeyPem,
      {
        mode: 0o600,
      },
    );
    const exported = await tusk([
      'audit',
      'bundle',
      ids.disputed,
      '--as',
      test.seller.id,
      '--privacy-ledger',
      ledgerFile,
      '--policies',
      policies,
      '--out',
      file,
    ]);
    expect(exported.code, exported.stderr).toBe(0);
    const copy = JSON.parse(await readFile(file, 'utf8')) as SignedBundle;
    expect(copy.privacyEntries?.entries.map((e) => e.dealId)).toContain(ids.disputed);
    const verified = await tusk(['audit', 'verify', file, '--operator-key', operatorKey]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/ok {6}privacy charges in the seller's ledger: \d+ entries read by/);
    expect(verified.stdout).toMatch(/ok {6}privacy budget: dataset policy sha256:/);

    // The seller's entry shows the release charged twice its template's cost: caught.
    const doctored = clone(copy);
    const entry = doctored.privacyEntries!.entries.find((e) => e.dealId === ids.disputed)!;
    const release = (await verifyBundle(copy, { operatorKey })).checks.find(
      (c) => c.check === 'privacy charges',
    );
    expect(release?.status).toBe('ok');
    entry.microEpsilon = entry.microEpsilon * 2 + 1;
    const findings = findingsOf(await verifyBundle(doctored, { operatorKey }));
    expect(findings.join('\n')).toMatch(
      new RegExp(
        `privacy charges in the seller's ledger: ${ids.disputed} (was charged|repeats a stored answer)`,
      ),
    );
    // A charge the seller's ledger holds in the same window, past the dataset's budget: caught.
    const overspent = clone(copy);
    const own = overspent.privacyEntries!.entries.find((e) => e.dealId === ids.disputed)!;
    overspent.privacyEntries!.entries.unshift({
      ...own,
      dealId: 'earlier-deal',
      microEpsilon: 999_000_000,
      at: own.at - 1,
    });
    expect(findingsOf(await verifyBundle(overspent, { operatorKey })).join('\n')).toMatch(
      new RegExp(
        `privacy budget: after ${ids.disputed}, patients had spent ε [0-9.]+ in \\d+ days, over its budget`,
      ),
    );
    // Without the entries, the budget is not checked, and the report says so.
    const { privacyEntries: _dropped, ...plain } = copy;
    expect((await verifyBundle(plain, { operatorKey })).checks).toContainEqual(
      expect.objectContaining({ check: 'privacy budget', status: 'skipped' }),
    );
  });

  it('a grant: its tranche and refund, its milestone template; a changed payout in a ledger line is caught', async () => {
    const file = join(test.home, 'grant-bundle.json');
    const exported = await tusk(['audit', 'bundle', `grant:${ids.grant}`, '--as', 'sponsor', '--out', file]);
    expect(exported.code, exported.stderr).toBe(0);
    const verified = await tusk(['audit', 'verify', file, '--operator-key', operatorKey]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toContain(
      `ok      template and seller signature (${test.seller.id}, cohort-cost-by-zip3)`,
    );
    // With the API to ask, the seller's perimeter key comes from the log: the verdict is the seller's.
    const withLog = await tusk(['audit', 'verify', file, '--operator-key', operatorKey, '--as', 'sponsor']);
    expect(withLog.code, withLog.stdout + withLog.stderr).toBe(0);
    expect(withLog.stdout).toContain(
      `ok      release statements: ${ids.grant} milestone enrolled check 1: signed by ${test.seller.id}'s perimeter`,
    );
    const verdicts = await tusk(['sponsor', 'grant', 'verdicts', ids.grant, '--as', 'sponsor']);
    expect(verdicts.code, verdicts.stdout + verdicts.stderr).toBe(0);
    expect(verdicts.stdout).toBe(`enrolled: met, signed by ${test.seller.id}'s perimeter\n`);
    const unknown = await tusk(['audit', 'bundle', 'grant:', '--as', 'sponsor', '--out', file]);
    expect(unknown.code).toBe(2);

    const bundle = await as('sponsor').get<SignedBundle>(`/grants/${ids.grant}/audit-bundle`);
    expect(bundle.body.receipt?.openings?.amounts?.value).toMatchObject({
      deposits: '1000',
      payouts: [{ to: 'lab', amount: '585', part: 'enrolled' }],
      fee: '15',
      refunds: [{ to: 'sponsor', amount: '400' }],
    });
    const doctored = clone(bundle);
    const line = doctored.body.settlement.ledgerLines.find((l) => l.text.includes('"release_part"'))!;
    line.text = line.text.replace('"payeeAmount":"585"', '"payeeAmount":"685"');
    const findings = findingsOf(await verifyBundle(resign(signer, doctored), { operatorKey }));
    expect(findings).toContainEqual(
      `receipt against the ledger: ledger line ${line.line} is not the line the receipt names`,
    );
    expect(findings).toContainEqual(
      'receipt against the ledger: the ledger shows 685 paid out, the histories 585',
    );
    // The sponsor sees the verdict's statement; an auditor's redacted view names no seller.
    const full = await as('sponsor').get<GrantStatus>(`/grants/${ids.grant}`);
    expect(full.milestones[0]!.lastCheck?.release?.body).toMatchObject({
      kind: 'milestone_verdict',
      sellerId: test.seller.id,
    });
    expect(JSON.stringify(await as('auditor').get(`/grants/${ids.grant}`))).not.toContain(test.seller.id);
    // The grant's lab and sponsor have it; the deal's buyer has no part in it.
    await expect(buyer().get(`/grants/${ids.grant}/audit-bundle`)).rejects.toMatchObject({ status: 403 });

    // The seller's own ledger, read as its CLI reads it: the verdict states the ε its run was charged.
    const entries = await readPrivacyEntries(
      join(test.deployment.perimeterStateDir, 'privacy-ledger.sqlite'),
      test.seller.directory,
      verdictChargesOf(bundle).map((v) => v.chargeId),
    );
    const verdictCheck = "milestone verdicts' ε in the seller's ledger";
    expect((await verifyBundle(bundle, { operatorKey, privacyEntries: entries })).checks).toContainEqual({
      check: verdictCheck,
      status: 'ok',
      detail: '1 verdict, each as its run was charged',
    });
    // A ledger that kept another ε for the run than the perimeter signed in its verdict: named.
    const stated = full.milestones[0]!.lastCheck!.release!.body.epsilonCharged;
    const doctoredLedger = clone(entries);
    const run = doctoredLedger.entries.find((e) => e.dealId === milestoneChargeId(ids.grant, 'enrolled'))!;
    run.microEpsilon += 500_000;
    expect(
      findingsOf(await verifyBundle(bundle, { operatorKey, privacyEntries: doctoredLedger })),
    ).toContainEqual(
      `${verdictCheck}: ${ids.grant} milestone enrolled check 1: the perimeter's verdict states ε ${stated}, its ledger charged the run ε ${run.microEpsilon / 1e6}`,
    );
  });

  it("a subscription period: only the runs it spans, only its own money; another period's charge is caught", async () => {
    const bundle = await buyer().get<SignedBundle>(
      `/subscriptions/${ids.subscription}/periods/2/audit-bundle`,
    );
    expect(bundle.body.subject).toEqual({
      kind: 'subscription_period',
      subscriptionId: ids.subscription,
      period: 2,
    });
    const first = await buyer().get<SignedBundle>(
      `/subscriptions/${ids.subscription}/periods/1/audit-bundle`,
    );
    // One run per period here: each period's bundle holds its own run, not its neighbour's.
    expect(bundle.body.runs).toHaveLength(1);
    expect(first.body.runs).toHaveLength(1);
    expect(bundle.body.runs[0]!.runId).not.toBe(first.body.runs[0]!.runId);
    expect(bundle.body.receipt?.body).toMatchObject({
      kind: 'subscription_period',
      resultCommitment: expect.any(String),
    });
    expect(bundle.body.receipt?.openings?.amounts?.value).toMatchObject({ deposits: '1000', fee: '25' });
    const report = await verifyBundle(bundle, {
      operatorKey,
      ledgerFile: test.deployment.ledger.path,
      perimeterKeys: await loggedPerimeterKeys(),
    });
    expect(findingsOf(report)).toEqual([]);
    // The period's delivery is its seller's, signed for its run id.
    expect(report.checks.filter((c) => c.check === 'release statements')).toMatchObject([
      {
        status: 'ok',
        detail: `${ids.subscription}/period-2/query-0: signed by ${sellers[0]!.id}'s perimeter`,
      },
    ]);

    // Period 1's run handed in as period 2's: the receipt's money is not what those histories show.
    const swapped = clone(bundle);
    swapped.body.runs = first.body.runs;
    expect(findingsOf(await verifyBundle(resign(signer, swapped), { operatorKey })).join('\n')).toMatch(
      /receipt matches the histories|does not show/,
    );
    await expect(
      buyer().get(`/subscriptions/${ids.subscription}/periods/999/audit-bundle`),
    ).rejects.toMatchObject({ status: 404 });
  });

  describe('auditor access and the disclosure itself', () => {
    const decide = (id: string, decision: DisclosureDecision) =>
      decideDisclosure<DisclosureStatus>(as(id), ids.disclosure, decision);

    it("an auditor is refused a deal's bundle with how to get one, and receives it whole once a disclosure is approved", async () => {
      const refused = await as('auditor')
        .get(`/deals/${ids.disputed}/audit-bundle`)
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({ status: 403, code: 'forbidden' });
      expect((refused as { reason: string }).reason).toMatch(/request a disclosure of parties and amount/);

      await as('auditor').post('/disclosures', {
        disclosureId: ids.disclosure,
        dealId: ids.disputed,
        reason: 'sample of disputed deals this quarter',
      });
      // Found through Temporal's visibility, which may lag the start by a moment.
      const pending = await waitFor(
        () =>
          as('auditor')
            .get(`/deals/${ids.disputed}/audit-bundle`)
            .catch((e: { reason: string }) => e.reason),
        (reason) => /is pending/.test(String(reason)),
        20_000,
      );
      expect(pending).toMatch(new RegExp(`disclosure ${ids.disclosure} of deal ${ids.disputed} is pending`));
      await decide('compliance-1', 'approve');
      await decide('compliance-2', 'approve');

      // Unsigned, the export is refused, with the disclosure to export under.
      await expect(as('auditor').get(`/deals/${ids.disputed}/audit-bundle`)).rejects.toMatchObject({
        status: 403,
        reason: expect.stringContaining(`--disclosure ${ids.disclosure}`),
      });
      const bundle = await exportDealBundle<SignedBundle>(as('auditor'), ids.disputed, ids.disclosure);
      expect(bundle.body.exportedFor).toBe('auditor');
      expect(bundle.body.receipt?.openings?.parties?.value.buyer).toBe(test.deployment.buyer.id);
      expect(findingsOf(await verifyBundle(bundle, { operatorKey }))).toEqual([]);
      // The export is in the disclosure's trail, by the auditor's signed export (apart from its views).
      const status = await as('auditor').get<DisclosureStatus>(`/disclosures/${ids.disclosure}`);
      const exports = status.audit.filter((event) => event.action === 'bundle_exported');
      expect(exports.map((event) => event.by)).toEqual(['auditor']);
      expect(status.exports).toEqual([
        {
          viewer: 'auditor',
          at: exports[0]!.at,
          valuesHash: exports[0]!.detail!.valuesHash,
          nonce: expect.any(String),
        },
      ]);
      expect(status.views).toEqual([]);

      // Straight to Temporal, as the operator: an export recorded without the auditor's signature, in
      // the auditor's name under another key, or with a used nonce, is refused; nothing more recorded.
      const handle = test.temporal.workflow.getHandle(disclosureWorkflowId(ids.disclosure));
      const send = (request: unknown) =>
        updateRefusal(handle.executeUpdate(recordBundleExportUpdate, { args: [request as never] }));
      const valuesHash = `sha256:${'2'.repeat(64)}`;
      expect(await send({ viewer: 'auditor', valuesHash })).toMatch(/not signed/);
      const forged = signedBy(
        test,
        'compliance-1',
        status.scope!,
        'bundle_export',
        { nonce: 'n'.repeat(24) },
        {
          principal: 'auditor',
        },
      );
      expect(await send({ signed: forged, valuesHash })).toMatch(/the signature is not auditor's/);
      const reused = signedBy(test, 'auditor', status.scope!, 'bundle_export', {
        nonce: status.exports![0]!.nonce,
      });
      expect(await send({ signed: reused, valuesHash })).toMatch(/used already/);
      const asView = signedBy(test, 'auditor', status.scope!, 'disclosure_view', { nonce: 'v'.repeat(24) });
      expect(await send({ signed: asView, valuesHash })).toMatch(
        /signed as disclosure_view, not bundle_export/,
      );
      const after = await as('auditor').get<DisclosureStatus>(`/disclosures/${ids.disclosure}`);
      expect(after.audit).toEqual(status.audit);
      // The auditor's CLI signs its export the same way: a second export, recorded under its own nonce.
      const out = join(test.home, 'cli', 'disputed-bundle.json');
      const cli = await tusk([
        'audit',
        'bundle',
        ids.disputed,
        '--as',
        'auditor',
        '--disclosure',
        ids.disclosure,
        '--out',
        out,
      ]);
      expect(cli, cli.stderr).toMatchObject({ code: 0 });
      expect(JSON.parse(await readFile(out, 'utf8'))).toMatchObject({ body: { exportedFor: 'auditor' } });
      const exported = await as('auditor').get<DisclosureStatus>(`/disclosures/${ids.disclosure}`);
      expect(exported.exports).toHaveLength(2);
      expect(new Set(exported.exports!.map((e) => e.nonce)).size).toBe(2);
      // The disclosure is of this deal only.
      await expect(as('auditor').get(`/deals/${ids.multi}/audit-bundle`)).rejects.toMatchObject({
        status: 403,
      });
    });

    it('the closed disclosure has its own bundle: no receipt (no money), two signed decisions; one key twice is caught', async () => {
      const status = () => as('auditor').get<DisclosureStatus>(`/disclosures/${ids.disclosure}`);
      await waitFor(status, (s) => s.stage === 'expired', VIEW_MS + 60_000);
      const bundle = await waitFor(
        () =>
          as('compliance-1')
            .get<SignedBundle>(`/disclosures/${ids.disclosure}/audit-bundle`)
            .catch(() => undefined),
        (b) => b !== undefined,
      );
      expect(bundle!.body.receipt).toBeUndefined();
      const keys = await logKeys(bundle!);
      const report = await verifyBundle(bundle!, { operatorKey, keys });
      expect(findingsOf(report)).toEqual([]);
      expect(report.checks).toContainEqual(expect.objectContaining({ check: 'receipt', status: 'skipped' }));
      expect(report.checks).toContainEqual({
        check: `approvals of ${disclosureWorkflowId(ids.disclosure)}`,
        status: 'ok',
        detail: '2 signed approvals, distinct principals and keys',
      });
      await expect(buyer().get(`/disclosures/${ids.disclosure}/audit-bundle`)).rejects.toMatchObject({
        status: 403,
      });

      // The second decision replaced by the first: one principal's key signed both that counted.
      const doctored = clone(bundle!);
      const events = (doctored.body.runs[0]!.history as HistoryJson).events;
      const decisions = events
        .filter(
          (e) =>
            (
              e.workflowExecutionUpdateAcceptedEventAttributes as {
                acceptedRequest?: { input?: { name?: string } };
              }
            )?.acceptedRequest?.input?.name === 'decideDisclosure',
        )
        .map((e) =>
          payloadOf(e, [
            'workflowExecutionUpdateAcceptedEventAttributes',
            'acceptedRequest',
            'input',
            'args',
            'payloads',
            '0',
          ]),
        );
      expect(decisions).toHaveLength(2);
      encode(decisions[1]!, decode(decisions[0]!));
      expect(findingsOf(await verifyBundle(resign(signer, doctored), { operatorKey, keys }))).toContainEqual(
        `approvals of ${disclosureWorkflowId(ids.disclosure)}: compliance-1 approved twice`,
      );
    });
  });
});
