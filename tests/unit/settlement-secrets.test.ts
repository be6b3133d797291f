import { describe, expect, it } from 'vitest';
import { parseAmount, SettlementRefusedError } from '../../activities/settlement/port';
import { blindedReceiptId } from '../../lib/ids/receipt-id';
import { deriveDealSecret } from '../../contracts/deal-secrets';

const master = Buffer.alloc(32, 7);
/** The BN254 scalar field modulus: an NFT token id must be below it. */
const FIELD_MODULUS = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001n;

describe('per-deal secrets', () => {
  it('derive the same value again from the master secret and deal id, and differ by purpose and deal', () => {
    const key = deriveDealSecret(master, 'escrow-secret-key', 'deal-1');
    expect(deriveDealSecret(master, 'escrow-secret-key', 'deal-1')).toEqual(key);
    expect(key).toHaveLength(32);
    expect(deriveDealSecret(master, 'escrow-salt', 'deal-1')).not.toEqual(key);
    expect(deriveDealSecret(master, 'escrow-secret-key', 'deal-2')).not.toEqual(key);
    expect(deriveDealSecret(Buffer.alloc(32, 8), 'escrow-secret-key', 'deal-1')).not.toEqual(key);
  });

  it('refuse a short master secret', () => {
    expect(() => deriveDealSecret(Buffer.alloc(16), 'escrow-salt', 'deal-1')).toThrow(/at least 32 bytes/);
  });
});

describe('blinded receipt ids', () => {
  const commitment = `sha256:${'ab'.repeat(32)}`;
  const salt = Buffer.alloc(32, 1);

  it('are field elements that depend on the commitment and the salt', () => {
    const id = blindedReceiptId(commitment, salt);
    expect(id).toMatch(/^0x00[0-9a-f]{62}$/);
    expect(BigInt(id)).toBeLessThan(FIELD_MODULUS);
    expect(blindedReceiptId(commitment, salt)).toBe(id);
    expect(blindedReceiptId(commitment, Buffer.alloc(32, 2))).not.toBe(id);
    expect(blindedReceiptId(`sha256:${'cd'.repeat(32)}`, salt)).not.toBe(id);
    expect(id).not.toContain('abababab');
  });
});

describe('amounts', () => {
  it('accept positive whole numbers of smallest units and refuse anything else with a reason', () => {
    expect(parseAmount('1000')).toBe(1000n);
    for (const bad of ['0', '-1', '1.5', '1e3', '', ' 1', '9'.repeat(32)]) {
      expect(() => parseAmount(bad)).toThrow(SettlementRefusedError);
    }
    expect(() => parseAmount('abc')).toThrow(
      'amount must be a positive whole number of smallest units, got "abc"',
    );
  });
});
