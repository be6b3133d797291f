import { z } from 'zod';
import { canonicalHash } from '../lib/canonical-json';
import { signedReceipt } from './receipt';
import { privacyEntries } from './privacy-entries';
import { operatorSignature } from '../lib/transparency/signed-document';
import { auditSubject } from './subject';
import { inclusionProofResponse } from '../lib/transparency/tree-head';

const sha256Ref = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/**
 * Everything an auditor needs to check a finished deal on another machine, signed by the operator:
 * the recorded histories (decoded, so they replay without the operator's codec keys), the workflow
 * code they must replay against, the template and its seller signature, the receipt and its place in
 * the transparency log, the settlement ledger's lines and the blobs the deal refers to.
 */
export const bundleBody = z.strictObject({
  type: z.literal('tusk.audit-bundle/v1'),
  /** What the bundle covers: a deal (with its dispute), a subscription period, a grant, a disclosure. */
  subject: auditSubject,
  /** The subject's key in the transparency log and its receipt (audit/subject.ts, subjectKey). */
  dealId: z.string(),
  exportedAt: z.iso.datetime(),
  /** Who asked for this copy. */
  exportedFor: z.string(),
  workflowCode: z.strictObject({
    bundleHash: sha256Ref,
    sdkVersion: z.string(),
    workflowsPath: z.literal('workflows/index.ts'),
  }),
  runs: z.array(
    z.strictObject({
      workflowId: z.string(),
      runId: z.string(),
      workflowType: z.string(),
      history: z.looseObject({
        events: z.array(z.looseObject({ eventId: z.string(), eventType: z.string() })),
      }),
    }),
  ),
  /** The registered keys of every party the deal names (sellers, buyer, approving principals). */
  parties: z.array(z.strictObject({ id: z.string(), role: z.string(), publicKey: z.string() })),
  templates: z.array(z.strictObject({ sellerId: z.string(), template: z.unknown(), signature: z.unknown() })),
  /** Absent for a disclosure: it moves no money, so there is no settlement to attest. */
  receipt: signedReceipt.optional(),
  receiptInclusion: inclusionProofResponse.optional(),
  settlement: z.strictObject({
    adapter: z.enum(['local-ledger', 'aztec']),
    /** The local ledger's lines for this deal, verbatim. */
    ledgerLines: z.array(z.strictObject({ line: z.number().int(), text: z.string() })),
  }),
  /** Blobs the deal's histories refer to (the sealed result, audit trails), base64, by content address. */
  blobs: z.array(z.strictObject({ ref: sha256Ref, base64: z.string() })),
});
export type BundleBody = z.infer<typeof bundleBody>;

export const signedBundle = z.strictObject({
  body: bundleBody,
  signature: operatorSignature,
  /** The seller's own copy: its perimeter's ledger entries, attached by its CLI, not signed by the operator. */
  privacyEntries: privacyEntries.optional(),
});
export type SignedBundle = z.infer<typeof signedBundle>;

/** What the transparency log holds for a bundle. */
export const bundleDigest = (bundle: Pick<SignedBundle, 'body'>) => canonicalHash(bundle.body);
