import { describe, expect, it } from 'vitest';
import { sha256Ref } from '../../lib/canonical-json';
import { generateEd25519KeyPair, publicKeyOf, signEd25519 } from '../../lib/ed25519';
import type { OperatorSigner } from '../../lib/transparency/operator-key';
import {
  checkReceipt,
  issueReceipt,
  sealedOnly,
  statedLineDigest,
  templateOf,
  type ReceiptFacts,
} from '../../audit/receipt';

const keys = generateEd25519KeyPair();
const signer: OperatorSigner = {
  publicKey: publicKeyOf(keys.privateKeyPem),
  sign: (message) => signEd25519(keys.privateKeyPem, message),
};
const TEMPLATE = { templateId: 'cohort-cost-by-zip3', templateHash: `sha256:${'ab'.repeat(32)}` };
/** A ledger line as the settlement writes it: every part of it guessable (party, amount, time). */
const LOCK_LINE = JSON.stringify({
  kind: 'lock',
  dealId: 'deal:d-1',
  buyerId: 'demo-buyer',
  amount: '1000',
  at: '2026-01-01T00:00:00.000Z',
});
const facts: ReceiptFacts = {
  dealId: 'd-1',
  kind: 'cohort_query',
  outcome: 'settled',
  ...TEMPLATE,
  parties: { buyer: 'demo-buyer', sellers: ['seller-a'] },
  feeBps: 250,
  money: {
    deposits: [{ from: 'demo-buyer', amount: '1000' }],
    payouts: [{ to: 'seller-a', amount: '975' }],
    fees: [{ amount: '25', feeBps: 250, of: 'deal:d-1' }],
    refunds: [],
    transactions: [],
  },
  adapter: 'local-ledger',
  ledgerEntries: [{ line: 1, kind: 'lock', digest: sha256Ref(LOCK_LINE) }],
  startedAt: 0,
  settledAt: 1,
};

describe('a receipt sealed for auditors', () => {
  it("confirms no right guess: neither a ledger line's plain digest nor the template is in it", () => {
    const sealed = JSON.stringify(sealedOnly(issueReceipt(signer, facts)));
    // The attacker's best case: it guessed the whole line (party, amount, time) exactly.
    expect(sealed).not.toContain(sha256Ref(LOCK_LINE));
    // The catalog maps a template's id and hash to its seller and price.
    expect(sealed).not.toContain(TEMPLATE.templateId);
    expect(sealed).not.toContain(TEMPLATE.templateHash);
  });

  it('opens for whoever holds the openings: the template, and each line against its salted digest', () => {
    const receipt = issueReceipt(signer, facts);
    expect(checkReceipt(receipt, signer.publicKey)).toEqual({ ok: true });
    expect(templateOf(receipt)).toEqual(TEMPLATE);
    const [entry] = receipt.body.settlement.ledgerEntries;
    expect(entry!.digest).toBe(statedLineDigest(receipt, sha256Ref(LOCK_LINE)));
    expect(entry!.digest).not.toBe(statedLineDigest(receipt, sha256Ref(LOCK_LINE.replace('1000', '1001'))));
  });

  it('refuses a template opening that does not match its seal', () => {
    const receipt = issueReceipt(signer, facts);
    const swapped = {
      ...receipt,
      openings: {
        ...receipt.openings!,
        template: { ...receipt.openings!.template!, value: { ...TEMPLATE, templateId: 'other' } },
      },
    };
    expect(checkReceipt(swapped, signer.publicKey)).toMatchObject({ ok: false });
  });
});
