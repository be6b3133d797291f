import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransparencyLog } from '../../api/audit/log-store';
import type { SignedBundle } from '../../audit/bundle';
import type { AuditorKeys } from '../../audit/verify/auditor-keys';
import {
  checkExpiredRefundsInLog,
  checkExtensionsInLog,
  checkReleasesInLog,
} from '../../audit/verify/log-checks';
import { readLogLookups, type LogLookups } from '../../audit/verify/log-lookups';
import { generateEd25519KeyPair, publicKeyOf, signEd25519 } from '../../lib/ed25519';
import { dealEscrowId, grantEscrowId } from '../../lib/ids/escrow-ids';
import { grantWorkflowId } from '../../lib/ids/workflow-ids';
import { EXPIRY_CLOCK_MARGIN_MS } from '../../lib/refusal-statement';
import { signReleaseStatement, type ReleaseStatement } from '../../lib/release-statement';
import { signDecision } from '../../lib/signed-decision';
import { signTerms, termsHashOf } from '../../lib/signed-terms';
import type { OperatorSigner } from '../../lib/transparency/operator-key';
import {
  extensionLookupKey,
  releaseLookupKey,
  releaseStatementDigest,
} from '../../lib/transparency/release-entry';
import { canonicalHash } from '../../lib/canonical-json';

const signerOf = (pem: string): OperatorSigner => ({
  publicKey: publicKeyOf(pem),
  sign: (message) => signEd25519(pem, message),
});
const operator = signerOf(generateEd25519KeyPair().privateKeyPem);
const otherOperator = signerOf(generateEd25519KeyPair().privateKeyPem);
const buyer = generateEd25519KeyPair();
const sponsor = generateEd25519KeyPair();
const perimeter = generateEd25519KeyPair();
const HASH = `sha256:${'a'.repeat(64)}`;
const NONCE = 'nonce-of-these-terms';
const NOT_AFTER = '2027-01-01T00:00:00Z';
const compliance = { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] };

const terms = signTerms(
  'cohort_query',
  'acme',
  {
    dealId: 'd1',
    templateId: 't',
    sellerId: 'seller-a',
    templateHash: HASH,
    parameters: {},
    price: '1000',
    feeBps: 250,
    notAfter: NOT_AFTER,
    nonce: NONCE,
    acceptanceWindowSeconds: 3600,
    resultKeyRef: HASH,
    compliance,
  },
  buyer.privateKeyPem,
);
const lookupKey = releaseLookupKey({ sellerId: 'seller-a', dealId: 'd1', termsHash: termsHashOf(terms) });
const statement: ReleaseStatement = signReleaseStatement(
  {
    type: 'tusk.release/v1',
    kind: 'sealed_table',
    sellerId: 'seller-a',
    dealId: 'd1',
    termsHash: termsHashOf(terms),
    commitment: `sha256:${'c'.repeat(64)}`,
    epsilonCharged: 0.5,
    deltaCharged: 0,
    datasetPolicy: { version: 1, hash: HASH },
  },
  perimeter,
);
const keys: AuditorKeys = {
  parties: { sp: { keys: [sponsor.publicKey], from: 'pinned' } },
  perimeters: { 'seller-a': perimeter.publicKey },
};

const jsonPayload = (value: unknown) => ({
  metadata: { encoding: Buffer.from('json/plain').toString('base64') },
  data: Buffer.from(JSON.stringify(value)).toString('base64'),
});

/** One activity scheduled and completed at `at` with `result`. */
const call = (id: number, name: string, queue: string, input: unknown, result: unknown, at: number) => [
  {
    eventId: `${id}`,
    activityTaskScheduledEventAttributes: {
      activityType: { name },
      taskQueue: { name: queue },
      input: { payloads: [jsonPayload(input)] },
    },
  },
  {
    eventId: `${id + 1}`,
    eventTime: new Date(at).toISOString(),
    activityTaskCompletedEventAttributes: {
      scheduledEventId: `${id}`,
      result: { payloads: [jsonPayload(result)] },
    },
  },
];

const BEFORE = Date.parse(NOT_AFTER) - 60_000;
const PAST = Date.parse(NOT_AFTER) + EXPIRY_CLOCK_MARGIN_MS + 1;

/** A deal's history: the buyer's terms, the perimeter's release if `released`, a refund at `refundAt`. */
function dealBundle(options: { released: boolean; refundAt?: number }): SignedBundle {
  const events = [
    {
      eventId: '1',
      workflowExecutionStartedEventAttributes: {
        workflowType: { name: 'cohortQueryDeal' },
        input: { payloads: [jsonPayload({ dealId: 'd1', terms })] },
      },
    },
    ...(options.released
      ? call(
          2,
          'runApprovedQuery',
          'perimeter.seller-a',
          { dealId: 'd1', terms },
          { release: statement, commitment: statement.body.commitment, epsilonSpent: 0.5 },
          BEFORE,
        )
      : []),
    ...(options.refundAt === undefined
      ? []
      : call(
          10,
          'refundEscrow',
          'settlement',
          { dealId: dealEscrowId('d1', NONCE), buyerId: 'acme', amount: '1000', terms },
          {},
          options.refundAt,
        )),
  ];
  return {
    body: {
      subject: { kind: 'deal', dealId: 'd1' },
      runs: [{ workflowId: 'd1', runId: 'r1', workflowType: 'cohortQueryDeal', history: { events } }],
    },
  } as unknown as SignedBundle;
}

describe("audit: a deal's releases against the transparency log", () => {
  let dir: string;
  let log: TransparencyLog;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-audit-log-'));
    log = TransparencyLog.open(join(dir, 'log.sqlite'), operator);
  });
  afterEach(async () => {
    log.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The log's signed answers, read as the CLI reads them (the path's key and `since`). */
  const lookups = (bundle: SignedBundle, pinned = operator.publicKey): Promise<LogLookups> =>
    readLogLookups(
      async (path) => {
        const [, , kind, rest] = path.split('/');
        const [key, query] = rest!.split('?since=');
        return log.releaseLookup(key!, Number(query), kind === 'extensions' ? 'extension' : 'release');
      },
      pinned,
      bundle,
    );
  const statusOf = async (bundle: SignedBundle) =>
    checkReleasesInLog(bundle, await lookups(bundle)).map((c) => `${c.status}: ${c.detail}`);

  it('passes a release the perimeter logged', async () => {
    log.logRelease({ lookupKey, digest: releaseStatementDigest(statement) });
    expect(await statusOf(dealBundle({ released: true }))).toEqual([
      expect.stringMatching(/^ok: 1 release shown, each logged; 1 log entry under 1 seller key/),
    ]);
  });

  it('names a release the bundle shows that the log does not hold', async () => {
    expect(await statusOf(dealBundle({ released: false }))).toEqual([
      expect.stringMatching(/^ok: 0 releases/),
    ]);
    expect(await statusOf(dealBundle({ released: true }))).toEqual([
      expect.stringMatching(
        /^finding: seller-a's sealed_table release of d1 \(statement sha256:[0-9a-f]{64}\) is in the bundle but not in the log: it was returned without being logged/,
      ),
    ]);
  });

  it("names an entry under the deal's key that is no release the bundle shows: a junk entry, or a release kept out of the histories", async () => {
    const junk = `sha256:${'f'.repeat(64)}`;
    log.logRelease({ lookupKey, digest: releaseStatementDigest(statement) });
    log.logRelease({ lookupKey, digest: junk });
    expect(await statusOf(dealBundle({ released: true }))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^finding: unexplained log entry: leaf 1 under seller-a's release key of d1 holds statement ${junk}`,
        ),
      ),
    ]);
    // The perimeter's release, logged, that the operator kept out of the histories.
    expect(await statusOf(dealBundle({ released: false }))).toHaveLength(2);
  });

  it('names an answer not signed by the pinned operator key, and says the check did not run without the log', async () => {
    const bundle = dealBundle({ released: true });
    const forged = checkReleasesInLog(bundle, await lookups(bundle, otherOperator.publicKey));
    expect(forged).toEqual([
      expect.objectContaining({
        status: 'finding',
        detail: expect.stringMatching(/cannot be believed: tree head/),
      }),
    ]);
    expect(checkReleasesInLog(bundle)).toEqual([
      expect.objectContaining({ status: 'skipped', detail: expect.stringMatching(/^not run: /) }),
    ]);
  });

  it('names a refund past notAfter of a deal whose release the log holds; passes one the log holds nothing for', async () => {
    const refunded = dealBundle({ released: false, refundAt: PAST });
    expect(checkExpiredRefundsInLog(refunded, await lookups(refunded), keys)).toEqual([
      expect.objectContaining({ status: 'ok' }),
    ]);
    log.logRelease({ lookupKey, digest: releaseStatementDigest(statement) });
    expect(checkExpiredRefundsInLog(refunded, await lookups(refunded), keys)).toEqual([
      expect.objectContaining({
        status: 'finding',
        detail: expect.stringMatching(
          /refunded past the buyer's notAfter though the log holds seller-a's release of it \(leaf 0\)/,
        ),
      }),
    ]);
    // Before notAfter, the refusal check (refusal-checks.ts) is the one that applies.
    const early = dealBundle({ released: false, refundAt: BEFORE });
    expect(checkExpiredRefundsInLog(early, await lookups(early), keys)[0]?.status).toBe('skipped');
  });
});

describe("audit: a grant's extensions against the transparency log", () => {
  const DEADLINE = Date.parse('2027-01-01T00:00:00Z');
  const grantTerms = signTerms(
    'grant',
    'sp',
    {
      grantId: 'g1',
      granteeId: 'lab',
      total: '500',
      feeBps: 250,
      nonce: NONCE,
      milestones: [
        {
          milestoneId: 'report',
          amount: '500',
          deadline: new Date(DEADLINE).toISOString(),
          check: { kind: 'sponsor_approval' },
        },
      ],
    },
    sponsor.privateKeyPem,
  );
  const extension = (deadline: number) =>
    signDecision(sponsor.privateKeyPem, {
      workflowId: grantWorkflowId('g1'),
      runId: 'r1',
      subject: { id: 'g1', termsHash: termsHashOf(grantTerms) },
      action: 'deadline_extension',
      principal: 'sp',
      content: { milestoneId: 'report', deadline },
      notAfter: DEADLINE,
    });
  const key = extensionLookupKey({ grantId: 'g1', termsHash: termsHashOf(grantTerms) });
  const grantBundle = (shown: unknown[]): SignedBundle =>
    ({
      body: {
        subject: { kind: 'grant', grantId: 'g1' },
        runs: [
          {
            workflowId: grantWorkflowId('g1'),
            runId: 'r1',
            workflowType: 'milestoneGrant',
            history: {
              events: [
                {
                  eventId: '1',
                  workflowExecutionStartedEventAttributes: {
                    workflowType: { name: 'milestoneGrant' },
                    input: { payloads: [jsonPayload({ grantId: 'g1', terms: grantTerms })] },
                  },
                },
                ...shown.map((signed, i) => ({
                  eventId: `u${i}`,
                  workflowExecutionUpdateAcceptedEventAttributes: {
                    acceptedRequest: { input: { args: { payloads: [jsonPayload({ signed })] } } },
                  },
                })),
                ...call(
                  5,
                  'refundRemainder',
                  'settlement',
                  { dealId: grantEscrowId('g1', NONCE) },
                  {},
                  DEADLINE + 1,
                ),
              ],
            },
          },
        ],
      },
    }) as unknown as SignedBundle;
  const lookupsOf = (entries: { leafIndex: number; digest: string; document: unknown }[]): LogLookups => ({
    releases: {},
    extensions: { [key]: { ok: true, entries: entries.map((e) => ({ ...e, path: [] })) } },
  });
  const logged = (extension: unknown, leafIndex = 0) => ({
    leafIndex,
    digest: canonicalHash(extension),
    document: extension,
  });

  it('passes an extension both the histories and the log hold', () => {
    const one = extension(DEADLINE + 86_400_000);
    expect(checkExtensionsInLog(grantBundle([one]), lookupsOf([logged(one)]), keys)).toEqual([
      expect.objectContaining({
        status: 'ok',
        detail: '1 extension in the histories, each logged; 1 logged, each in the histories',
      }),
    ]);
  });

  it('names an extension the histories show and the log lacks, one the log holds and the histories lack, and junk', () => {
    const shown = extension(DEADLINE + 86_400_000);
    const onlyLogged = extension(DEADLINE + 2 * 86_400_000);
    const details = checkExtensionsInLog(
      grantBundle([shown]),
      lookupsOf([logged(onlyLogged), logged({ junk: true }, 1)]),
      keys,
    ).map((c) => `${c.status}: ${c.detail}`);
    expect(details).toEqual([
      expect.stringMatching(
        /^finding: the sponsor's extension of milestone report to 2027-01-02T00:00:00.000Z is in the histories but not in the log/,
      ),
      expect.stringMatching(
        /^finding: the log holds the sponsor's extension of milestone report to 2027-01-03T00:00:00.000Z \(leaf 0\), which the histories do not show/,
      ),
      expect.stringMatching(/^finding: unexplained log entry: leaf 1 under the grant's extension key/),
    ]);
    expect(checkExtensionsInLog(grantBundle([shown]), undefined, keys)).toEqual([
      expect.objectContaining({ status: 'skipped', detail: expect.stringMatching(/^not run: /) }),
    ]);
  });
});
