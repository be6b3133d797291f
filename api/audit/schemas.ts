import { z } from 'zod';
import { signedBundle } from '../../audit/bundle';
import { signedReceipt } from '../../audit/receipt';
import {
  consistencyProofResponse,
  inclusionProofResponse,
  logEntry,
  signedTreeHead,
} from '../../lib/transparency/tree-head';

export { signedBundle, signedReceipt, signedTreeHead, inclusionProofResponse, consistencyProofResponse };

export const dealParams = z.object({ dealId: z.string().min(1).max(100) });
export const periodParams = z.object({
  subscriptionId: z.string().min(1).max(100),
  period: z.coerce.number().int().min(1).max(1_000_000),
});
export const grantParams = z.object({ grantId: z.string().min(1).max(100) });
export const disclosureParams = z.object({ disclosureId: z.string().min(1).max(100) });

const size = z.coerce.number().int().min(0);

/** An entry is named either by its position or by what it logs (a deal's receipt or bundle). */
export const inclusionQuery = z
  .object({
    treeSize: size.optional(),
    leafIndex: size.optional(),
    dealId: z.string().min(1).max(100).optional(),
    kind: logEntry.shape.kind.default('receipt'),
  })
  .refine((q) => q.leafIndex !== undefined || q.dealId !== undefined, {
    message: 'name the entry: leafIndex, or dealId (and kind)',
  });

export const consistencyQuery = z.object({ first: size, second: size });

export const operatorKey = z.object({ publicKey: z.string(), algorithm: z.literal('Ed25519') });
