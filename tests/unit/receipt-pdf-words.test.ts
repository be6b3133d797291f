import { describe, expect, it } from 'vitest';
import { actionNames, monoLines, partyLabels } from '../../audit/receipt-pdf';

describe("a receipt's words for its parties and its long values", () => {
  it('a grant names its sponsor and grantee, a subscription its subscriber; never a buyer or seller there', () => {
    expect(partyLabels('grant', 1)).toEqual({ payer: 'Sponsor', payee: 'Grantee' });
    expect(partyLabels('subscription_period', 1)).toEqual({ payer: 'Subscriber', payee: 'Seller' });
    expect(partyLabels('multi_seller', 3)).toEqual({ payer: 'Buyer', payee: 'Sellers' });
    const grant = Object.values(actionNames('grant')).join(' ');
    expect(grant).not.toMatch(/Buyer|Seller/);
    expect(actionNames('grant').refundEscrow).toBe('Sponsor refunded');
  });

  it('a sha256 digest stays on one line; a longer value is cut into equal whole lines', () => {
    const width = 333; // the value column of an A4 receipt
    const digest = `sha256:${'ab'.repeat(32)}`;
    expect(monoLines(digest, width)).toBe(digest);
    const signature = 'S'.repeat(86); // a base64url Ed25519 signature
    const lines = monoLines(signature, width).split('\n');
    expect(lines.join('')).toBe(signature);
    expect(lines.length).toBe(2);
    expect(Math.abs(lines[0]!.length - lines[1]!.length)).toBeLessThanOrEqual(1);
  });
});
