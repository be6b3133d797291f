import { describe, expect, it } from 'vitest';
import { dealEscrowId } from '../../lib/ids/escrow-ids';
import type { SignedBundle } from '../../audit/bundle';
import { checkPayerTerms } from '../../audit/verify/signed-money';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signTerms } from '../../lib/signed-terms';

const buyer = generateEd25519KeyPair();
const HASH = `sha256:${'a'.repeat(64)}`;
const jsonPayload = (value: unknown) => ({
  metadata: { encoding: Buffer.from('json/plain').toString('base64') },
  data: Buffer.from(JSON.stringify(value)).toString('base64'),
});
const body = {
  dealId: 'd1',
  templateId: 't',
  sellerId: 'seller-a',
  templateHash: HASH,
  parameters: {},
  price: '1000',
  feeBps: 250,
  notAfter: '2027-01-01T00:00:00Z',
  nonce: 'nonce-of-these-terms',
  resultKeyRef: HASH,
  compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] },
};

/** A deal history: started with `input`, then each money activity scheduled and completed. */
function dealBundle(input: unknown, moves: [string, Record<string, unknown>][]): SignedBundle {
  const events: Record<string, unknown>[] = [
    {
      eventId: '1',
      workflowExecutionStartedEventAttributes: {
        workflowType: { name: 'cohortQueryDeal' },
        input: { payloads: [jsonPayload(input)] },
      },
    },
  ];
  moves.forEach(([activity, args], i) => {
    const id = String(2 * i + 2);
    events.push(
      {
        eventId: id,
        activityTaskScheduledEventAttributes: {
          activityType: { name: activity },
          taskQueue: { name: 'settlement' },
          input: { payloads: [jsonPayload(args)] },
        },
      },
      { eventId: String(2 * i + 3), activityTaskCompletedEventAttributes: { scheduledEventId: id } },
    );
  });
  return {
    body: {
      subject: { kind: 'deal', dealId: 'd1' },
      runs: [{ workflowId: 'd1', runId: 'r1', workflowType: 'cohortQueryDeal', history: { events } }],
    },
  } as unknown as SignedBundle;
}

describe("audit: money against the payer's signed terms", () => {
  const terms = signTerms('cohort_query', 'acme', body, buyer.privateKeyPem);
  const escrow = dealEscrowId('d1', body.nonce);
  const lock = (amount: string) =>
    ['lockEscrow', { dealId: escrow, buyerId: 'acme', amount }] as [string, Record<string, unknown>];
  const release = (amount: string, feeBps: number, sellerId = 'seller-a') =>
    ['releaseEscrow', { dealId: escrow, sellerId, buyerId: 'acme', amount, feeBps }] as [
      string,
      Record<string, unknown>,
    ];

  it('passes a deal that locked and paid exactly what the buyer signed', () => {
    const checks = checkPayerTerms(
      dealBundle({ price: '1000', feeBps: 250, terms }, [lock('1000'), release('1000', 250)]),
    );
    expect(checks).toEqual([expect.objectContaining({ status: 'ok' })]);
  });

  it("names the attack: the buyer's genuine terms, another price and a 100% fee", () => {
    const checks = checkPayerTerms(
      dealBundle({ price: '5000', feeBps: 10_000, terms }, [lock('5000'), release('5000', 10_000)]),
    );
    expect(checks.every((c) => c.status === 'finding')).toBe(true);
    const details = checks.map((c) => c.detail);
    expect(details).toContain(`${escrow}: lockEscrow moved an amount of 5000; the payer signed 1000`);
    expect(details).toContain(`${escrow}: releaseEscrow moved a fee in bps of 10000; the payer signed 250`);
    expect(details).toContain(`${escrow}: releaseEscrow moved an amount of 5000; the payer signed 1000`);
  });

  it('names a payout to another seller, terms that do not verify, and money moved without terms', () => {
    const other = checkPayerTerms(dealBundle({ terms }, [lock('1000'), release('1000', 250, 'operator')]));
    expect(other.map((c) => c.detail)).toEqual([
      `${escrow}: releaseEscrow moved to payee operator; the payer signed seller-a`,
    ]);
    const forged = { ...terms, body: { ...terms.body, price: '5000' } };
    expect(checkPayerTerms(dealBundle({ terms: forged }, [lock('5000')]))[0]).toMatchObject({
      status: 'finding',
      detail: expect.stringMatching(/not signed by the key they name/),
    });
    expect(checkPayerTerms(dealBundle({}, [lock('1000')]))[0]).toMatchObject({ status: 'finding' });
  });

  it('names a fee taken under older terms that signed none', () => {
    const { feeBps: _fee, notAfter: _notAfter, nonce: _nonce, sellerId: _seller, ...older } = body;
    const unsignedFee = signTerms('cohort_query', 'acme', older, buyer.privateKeyPem);
    const plain = dealEscrowId('d1');
    const checks = checkPayerTerms(
      dealBundle({ terms: unsignedFee }, [
        ['lockEscrow', { dealId: plain, buyerId: 'acme', amount: '1000' }],
        ['releaseEscrow', { dealId: plain, sellerId: 'seller-a', amount: '1000', feeBps: 10_000 }],
      ]),
    );
    expect(checks.map((c) => c.detail)).toContain(
      `${plain}: releaseEscrow moved a fee in bps of 10000, which the payer never signed`,
    );
  });
});
