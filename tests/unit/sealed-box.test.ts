import { describe, expect, it } from 'vitest';
import { generateX25519KeyPair, open, seal, SealedBoxError } from '../../lib/sealed-box';

describe('sealed box', () => {
  const buyer = generateX25519KeyPair();
  const message = Buffer.from('{"rows":[["100","I10",42]]}');

  it('opens with the recipient key and the same context', () => {
    expect(open(seal(message, buyer.publicKey, 'deal-1'), buyer.privateKeyPem, 'deal-1')).toEqual(message);
  });

  it('gives a different box each time (fresh ephemeral key and nonce)', () => {
    expect(seal(message, buyer.publicKey, 'deal-1')).not.toEqual(seal(message, buyer.publicKey, 'deal-1'));
  });

  it('refuses another key, another deal, and a flipped byte', () => {
    const box = seal(message, buyer.publicKey, 'deal-1');
    expect(() => open(box, generateX25519KeyPair().privateKeyPem, 'deal-1')).toThrow(SealedBoxError);
    expect(() => open(box, buyer.privateKeyPem, 'deal-2')).toThrow(SealedBoxError);
    const tampered = Buffer.from(box);
    tampered[tampered.length - 20]! ^= 1;
    expect(() => open(tampered, buyer.privateKeyPem, 'deal-1')).toThrow(/does not open/);
  });

  it('rejects a public key of the wrong size', () => {
    expect(() => seal(message, 'AAAA', 'deal-1')).toThrow(/32 bytes/);
  });
});
