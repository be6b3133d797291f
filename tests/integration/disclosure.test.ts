import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../lib/blob-store';
import { canonicalHash } from '../../lib/canonical-json';
import { DEALS_TASK_QUEUE } from '../../lib/temporal';
import type { SignedDecision } from '../../lib/signed-decision';
import { decideDisclosure, viewDisclosure } from '../../lib/signed-actions';
import type { DisclosureDecision, DisclosureStatus } from '../../workflows/disclosure/state';
import {
  decideDisclosureUpdate,
  disclosure,
  disclosureStatusQuery,
} from '../../workflows/disclosure/workflow';
import { dealTermsQuery } from '../../workflows/deal-terms';
import { signTerms, termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { disclosureWorkflowId } from '../../lib/ids/workflow-ids';
import type { TuskApiError } from '../../lib/tusk-client';
import { keyPaths, writeFileAtomic } from '../../cli/common';
import { tusk } from './cli/run-tusk';
import { buyDeal, startDealWorkflow, startTestDeployment, type TestDeployment } from './harness';
import {
  historyText,
  LIFECYCLE_PARTIES,
  party,
  registerAlias,
  replay,
  signedBy,
  sleepUntil,
  updateRefusal,
  waitFor,
} from './lifecycle-harness';

const VIEW_MS = 8000;

describe("selective disclosure of a deal's hidden fields", () => {
  let test: TestDeployment;
  let dealId: string;
  /** Another delivered deal: the operator's target when it re-runs the disclosure id. */
  let otherDealId: string;
  const disclosureId = `disclosure-${crypto.randomUUID()}`;
  const as = (id: string) => party(test, id).client;
  /** A signed request whose refusal is looked at as the client got it: status and body. */
  const fetchAs = (id: string, method: string, path: string, body: unknown) =>
    as(id)
      .request(method, path, body)
      .then(
        (answer) => answer,
        (error: TuskApiError) => ({ status: error.status, body: { code: error.code, reason: error.reason } }),
      );
  const status = () => as('auditor').get<DisclosureStatus>(`/disclosures/${disclosureId}`);
  const view = () => viewDisclosure<{ fields: Record<string, string> }>(as('auditor'), disclosureId);

  const workflowId = () => disclosureWorkflowId(disclosureId);
  /** A decision as its principal signs it, through the SDK: bound to the run, deal, fields and auditor. */
  const decide = (id: string, decision: DisclosureDecision) =>
    decideDisclosure<DisclosureStatus>(as(id), disclosureId, decision);
  /** Approvals that counted, exactly as they reached the workflow: what an operator could copy. */
  const counted: SignedDecision[] = [];
  const approveSigned = async (id: string) => {
    const { scope, fields, auditorId } = await status();
    const signed = signedBy(test, id, scope!, 'disclosure_decision', {
      decision: 'approve',
      fields,
      auditorId,
    });
    const { notAfter } = signed.statement;
    const result = await as(id).post<DisclosureStatus>(`/disclosures/${disclosureId}/decisions`, {
      decision: 'approve',
      notAfter,
      signature: signed.signature,
    });
    counted.push(signed);
    return result;
  };

  beforeAll(async () => {
    test = await startTestDeployment(
      'disclosure',
      (seller) => seller.publishDemoTemplate().then(() => undefined),
      {
        parties: LIFECYCLE_PARTIES,
        env: { TUSK_DISCLOSURE_VIEW_MS: String(VIEW_MS) },
      },
    );
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', {
      min_age: 30,
      max_age: 50,
      sex: 'F',
    });
    dealId = deal.dealId;
    const other = await buyDeal(test.deployment, 'cohort-cost-by-zip3', {
      min_age: 40,
      max_age: 60,
      sex: 'M',
    });
    otherDealId = other.dealId;
    await Promise.all([deal.delivered(), other.delivered()]);
  });
  afterAll(() => test?.close());

  it('an auditor sees the deal without its parties and amount', async () => {
    const seen = await as('auditor').get<Record<string, unknown>>(`/deals/${dealId}`);
    expect(seen).toMatchObject({ dealId, hidden: ['parties', 'amount'] });
    expect(seen).not.toHaveProperty('buyerId');
    expect(seen).not.toHaveProperty('sellerId');
    expect(seen).not.toHaveProperty('price');
  });

  it('needs two approvals from distinct compliance principals before anything is shown', async () => {
    const requested = await as('auditor').request<DisclosureStatus>('POST', '/disclosures', {
      disclosureId,
      dealId,
      reason: 'quarterly sample of settled deals',
    });
    expect(requested.status).toBe(201);
    expect(requested.body).toMatchObject({ stage: 'pending', fields: ['parties', 'amount'] });
    // The subject's hash is the coordinator's, from the terms the buyer signed for this deal.
    const dealTerms = await test.temporal.workflow.getHandle(dealId).query(dealTermsQuery);
    const scoped = await waitFor(status, (s) => s.scope !== undefined);
    expect(scoped.scope!.subject).toEqual({ id: dealId, termsHash: termsHashOf(dealTerms) });
    await expect(view()).rejects.toMatchObject({ status: 409, code: 'not_approved' });

    await approveSigned('compliance-1');
    await expect(view()).rejects.toMatchObject({ code: 'not_approved' });
    await expect(decide('compliance-1', 'approve')).rejects.toMatchObject({
      status: 409,
      code: 'already_decided',
    });
    await expect(decide('auditor', 'approve')).rejects.toMatchObject({ status: 403 });
    const { scope, fields, auditorId } = await status();
    const deny = signedBy(test, 'compliance-2', scope!, 'disclosure_decision', {
      decision: 'deny',
      fields,
      auditorId,
    });
    await expect(
      as('compliance-2').post(`/disclosures/${disclosureId}/decisions`, {
        decision: 'approve',
        notAfter: deny.statement.notAfter,
        signature: deny.signature,
      }),
    ).rejects.toMatchObject({ status: 422, code: 'decision_signature_invalid' });

    // Straight to Temporal, bypassing the API: one key approving twice, under two names.
    const handle = test.temporal.workflow.getHandle(workflowId());
    const send = (signed: SignedDecision) =>
      updateRefusal(handle.executeUpdate(decideDisclosureUpdate, { args: [{ signed: signed as never }] }));
    const approval = { decision: 'approve', fields, auditorId };
    const asOther = (principal: string) =>
      signedBy(test, 'compliance-1', scope!, 'disclosure_decision', approval, { principal });
    expect(await send(asOther('compliance-2'))).toMatch(/the signature is not compliance-2's/);
    await registerAlias(test, 'compliance-alias', 'compliance-1');
    expect(await send(asOther('compliance-alias'))).toMatch(/key that signed compliance-alias's decision/);
    await expect(view()).rejects.toMatchObject({ code: 'not_approved' });
    expect((await status()).stage).toBe('pending');

    const approved = await approveSigned('compliance-2');
    expect(approved).toMatchObject({ stage: 'approved' });
    expect(new Set(approved.decisions.map((d) => d.key)).size).toBe(2);
  });

  it('shows the fields to the auditor who asked, records the view, and expires', async () => {
    const fields = { buyerId: test.deployment.buyer.id, sellerId: test.seller.id, price: '1000' };
    expect((await view()).fields).toEqual(fields);
    await expect(viewDisclosure(as('compliance-1'), disclosureId)).rejects.toMatchObject({ status: 403 });
    // A signed view is used once: the same query string sent again is refused, and not recorded.
    const once = await as('auditor').signedView(`/disclosures/${disclosureId}`, 'disclosure_view');
    await as('auditor').get(`/disclosures/${disclosureId}/view?${once}`);
    await expect(as('auditor').get(`/disclosures/${disclosureId}/view?${once}`)).rejects.toMatchObject({
      status: 409,
    });
    const viewed = await status();
    const seen = {
      viewer: 'auditor',
      at: expect.any(Number),
      fields: ['parties', 'amount'],
      valuesHash: canonicalHash({ dealId, ...fields }),
      nonce: expect.any(String),
    };
    expect(viewed.views).toEqual([seen, seen]);

    await sleepUntil(viewed.viewUntil!);
    await expect(view()).rejects.toMatchObject({ status: 403, code: 'access_expired' });
    const expired = await waitFor(status, (s) => s.stage === 'expired' && s.auditRef !== undefined);
    expect(expired.audit.map((e) => e.action)).toEqual([
      'requested',
      'approved',
      'approved',
      'view_opened',
      'viewed',
      'viewed',
      'view_expired',
    ]);

    const record = (await new BlobStore(join(test.home, 'blobs')).get(expired.auditRef!)).toString();
    expect(record).toContain('"action":"viewed"');
    expect(record).toContain(canonicalHash({ dealId, ...fields }));
    const history = await historyText(test, disclosureWorkflowId(disclosureId));
    for (const text of [record, history]) expect(text).not.toContain(fields.buyerId);
  });

  it('replays its recorded history', async () => {
    await replay(test, disclosureWorkflowId(disclosureId));
  });

  it('refuses the approvals of a finished run copied onto a new run of the same id for another deal', async () => {
    // The operator re-runs the disclosure id for another deal, as it may, and sends the two approvals
    // that opened the first run's view: each is refused, and the auditor sees nothing.
    expect(counted).toHaveLength(2);
    const otherTerms = await test.temporal.workflow.getHandle(otherDealId).query(dealTermsQuery);
    const first = await test.temporal.workflow.getHandle(workflowId()).describe();
    await waitFor(
      () => test.temporal.workflow.getHandle(workflowId()).describe(),
      (d) => d.status.name === 'COMPLETED',
    );
    const rerun = await test.temporal.workflow.start(disclosure, {
      taskQueue: DEALS_TASK_QUEUE,
      workflowId: workflowId(),
      args: [
        {
          disclosureId,
          dealId: otherDealId,
          // A hash of the operator's choosing: ignored, the coordinator hashes the deal's signed terms.
          termsHash: `sha256:${'0'.repeat(64)}`,
          auditorId: 'auditor',
          reason: 'quarterly sample of settled deals',
          fields: ['parties', 'amount'],
          approvalTimeoutMs: 60_000,
          viewMs: VIEW_MS,
        },
      ],
    });
    expect(rerun.firstExecutionRunId).not.toBe(first.runId);
    const scope = (await waitFor(status, (s) => s.scope !== undefined)).scope!;
    expect(scope.runId).toBe(rerun.firstExecutionRunId);
    expect(scope.subject).toEqual({ id: otherDealId, termsHash: termsHashOf(otherTerms) });
    const send = (signed: SignedDecision) =>
      updateRefusal(rerun.executeUpdate(decideDisclosureUpdate, { args: [{ signed: signed as never }] }));
    for (const copied of counted)
      expect(await send(copied)).toMatch(new RegExp(`signed for run ${first.runId}`));

    // Fresh signatures that bind anything but exactly this run, deal, fields and auditor: refused too.
    const content = { decision: 'approve', fields: ['parties', 'amount'], auditorId: 'auditor' };
    const sign = (over: typeof scope, what: typeof content, notAfter?: number) =>
      signedBy(test, 'compliance-1', over, 'disclosure_decision', what, notAfter ? { notAfter } : {});
    const firstDeal = { ...scope, subject: { ...scope.subject, id: dealId } };
    expect(await send(sign(firstDeal, content))).toMatch(/signed about/);
    expect(await send(sign(scope, { ...content, fields: ['amount'] }))).toMatch(/signed over/);
    expect(await send(sign(scope, { ...content, auditorId: 'compliance-2' }))).toMatch(/signed over/);
    expect(await send(sign(scope, content, Date.now() - 1))).toMatch(/expired/);

    const now = await status();
    expect(now).toMatchObject({ dealId: otherDealId, stage: 'pending', decisions: [], views: [] });
    await expect(view()).rejects.toMatchObject({ status: 409, code: 'not_approved' });
    await rerun.terminate('the attack is over');
  });

  it("takes the subject from the terms the deal's buyer signed: a missing deal, a fresh key or another deal's terms are refused", async () => {
    const terms = await test.temporal.workflow.getHandle(dealId).query(dealTermsQuery);
    const { templateId, templateHash } = terms.body as { templateId: string; templateHash: string };
    /** A deal workflow the operator starts itself, carrying the terms it chooses (refused downstream). */
    const operatorDeal = async (termsFor: (id: string) => SignedTerms) => {
      const id = `operator-deal-${crypto.randomUUID()}`;
      const signed = termsFor(id);
      await (await startDealWorkflow(test, { dealId: id, templateId, templateHash, terms: signed })).result();
      return id;
    };
    const freshKey = await operatorDeal((id) =>
      signTerms(
        'cohort_query',
        terms.signer,
        { ...terms.body, dealId: id },
        generateEd25519KeyPair().privateKeyPem,
      ),
    );
    const attempts: { what: string; dealId: string; reason: RegExp }[] = [
      { what: 'no such deal', dealId: `missing-${crypto.randomUUID()}`, reason: /cannot be read/ },
      {
        what: "another deal's terms",
        dealId: await operatorDeal(() => terms),
        reason: new RegExp(`name deal ${dealId}`),
      },
      {
        what: 'terms under a fresh key',
        dealId: freshKey,
        reason: /not signed by the registered key of buyer/,
      },
    ];
    // Through the API, the same check answers up front: 422 with the coordinator's reason, nothing started.
    for (const { what, dealId: subject, reason } of attempts.slice(1)) {
      const id = `disclosure-refused-${crypto.randomUUID()}`;
      const answer = await fetchAs('auditor', 'POST', '/disclosures', {
        disclosureId: id,
        dealId: subject,
        reason: 'a subject the coordinator refuses',
      });
      expect(answer, what).toEqual({
        status: 422,
        body: { code: 'subject_refused', reason: expect.stringMatching(reason) },
      });
      const started = await test.temporal.workflow
        .getHandle(disclosureWorkflowId(id))
        .describe()
        .then(
          () => true,
          () => false,
        );
      expect(started, what).toBe(false);
    }
    // The auditor's CLI prints the reason and exits non-zero.
    const cliHome = join(test.home, 'auditor-cli');
    await writeFileAtomic(keyPaths(cliHome, 'auditor').signing, party(test, 'auditor').signingKeyPem, 0o600);
    const run = await tusk(
      ['auditor', 'disclosure', 'request', freshKey, '--reason', 'a subject the coordinator refuses'],
      { TUSK_HOME: cliHome, TUSK_API_URL: test.deployment.apiUrl, TUSK_PARTY: 'auditor' },
    );
    expect(run.code, run.stdout).toBe(1);
    expect(run.stderr).toContain(
      `the API refused: subject_refused: the terms of deal ${freshKey} are not signed by the registered key of buyer`,
    );

    for (const { what, dealId: subject, reason } of attempts) {
      const id = `disclosure-forged-${crypto.randomUUID()}`;
      const run = await test.temporal.workflow.start(disclosure, {
        taskQueue: DEALS_TASK_QUEUE,
        workflowId: disclosureWorkflowId(id),
        args: [
          {
            disclosureId: id,
            dealId: subject,
            termsHash: termsHashOf(terms),
            auditorId: 'auditor',
            reason: 'forged subject',
            fields: ['parties', 'amount'],
            approvalTimeoutMs: 60_000,
            viewMs: VIEW_MS,
          },
        ],
      });
      const failure = await run.result().then(
        () => undefined,
        (error: { cause?: { type?: string; message?: string } }) => error.cause,
      );
      expect(failure, what).toMatchObject({
        type: 'SubjectTermsRefused',
        message: expect.stringMatching(reason),
      });
      // It never showed a scope, so nothing could be decided on it.
      const left = await run.query(disclosureStatusQuery);
      expect(left, what).toMatchObject({ stage: 'pending', decisions: [], views: [] });
      expect(left.scope, what).toBeUndefined();
    }
  });
});
