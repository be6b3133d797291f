import { describe, expect, it } from 'vitest';
import { generateX25519KeyPair, seal } from '../../lib/sealed-box';
import { isLowOrderX25519, x25519PublicKeyProblem } from '../../lib/x25519-public';

const LOW_ORDER_HEX = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

describe('X25519 public keys', () => {
  it('refuses every low-order point, with or without the ignored top bit', () => {
    for (const hex of LOW_ORDER_HEX) {
      const raw = Buffer.from(hex, 'hex');
      expect(isLowOrderX25519(raw), hex).toBe(true);
      raw[31]! |= 0x80;
      expect(isLowOrderX25519(raw), `${hex} with the top bit`).toBe(true);
      expect(x25519PublicKeyProblem(raw.toString('base64url'))).toMatch(/low-order/);
    }
  });

  it('the refused points are the ones no result could be sealed to', async () => {
    for (const hex of LOW_ORDER_HEX) {
      const key = Buffer.from(hex, 'hex').toString('base64url');
      await expect(seal(Buffer.from('answer'), key, 'test'), hex).rejects.toThrow();
    }
  });

  it('accepts a generated key, and refuses what is not 32 bytes in canonical base64url', async () => {
    for (let i = 0; i < 20; i++) {
      const { publicKey } = generateX25519KeyPair();
      expect(x25519PublicKeyProblem(publicKey)).toBeUndefined();
      await expect(seal(Buffer.from('answer'), publicKey, 'test')).resolves.toBeInstanceOf(Buffer);
    }
    expect(x25519PublicKeyProblem('A'.repeat(42))).toBe('not a base64url encoding of 32 bytes');
    // 43 characters carry 258 bits: the last character's spare bits must be zero
    expect(x25519PublicKeyProblem(`${'A'.repeat(42)}B`)).toBe('not a base64url encoding of 32 bytes');
  });
});
