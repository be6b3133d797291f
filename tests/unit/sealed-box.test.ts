import {
  createCipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
} from 'node:crypto';
import { Aes256Gcm, CipherSuite, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256 as NobleX25519 } from '@hpke/dhkem-x25519';
import { describe, expect, it } from 'vitest';
import { generateX25519KeyPair, open, seal, SealedBoxError } from '../../lib/sealed-box';

describe('sealed box', () => {
  const buyer = generateX25519KeyPair();
  const message = Buffer.from('{"rows":[["100","I10",42]]}');

  it('opens with the recipient key and the same context', async () => {
    expect(await open(await seal(message, buyer.publicKey, 'deal-1'), buyer.privateKeyPem, 'deal-1')).toEqual(
      message,
    );
  });

  it('gives a different box each time (fresh encapsulated key)', async () => {
    expect(await seal(message, buyer.publicKey, 'deal-1')).not.toEqual(
      await seal(message, buyer.publicKey, 'deal-1'),
    );
  });

  it('refuses another key, another deal, and a flipped byte', async () => {
    const box = await seal(message, buyer.publicKey, 'deal-1');
    await expect(open(box, generateX25519KeyPair().privateKeyPem, 'deal-1')).rejects.toThrow(SealedBoxError);
    await expect(open(box, buyer.privateKeyPem, 'deal-2')).rejects.toThrow(SealedBoxError);
    const tampered = Buffer.from(box);
    tampered[tampered.length - 20]! ^= 1;
    await expect(open(tampered, buyer.privateKeyPem, 'deal-1')).rejects.toThrow(/does not open/);
  });

  it('rejects a public key of the wrong size, and a private key of another kind', async () => {
    await expect(seal(message, 'AAAA', 'deal-1')).rejects.toThrow(/32 bytes/);
    const ed25519 = generateKeyPairSync('ed25519')
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    await expect(open(await seal(message, buyer.publicKey, 'd'), ed25519, 'd')).rejects.toThrow(
      /not an X25519/,
    );
  });

  it('is RFC 9180 HPKE: another implementation of the same suite opens it', async () => {
    // The noble-curves X25519 of @hpke/dhkem-x25519, not the WebCrypto one the box is sealed with.
    const other = new CipherSuite({ kem: new NobleX25519(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
    const box = await seal(message, buyer.publicKey, 'deal-1');
    expect(box[0]).toBe(2);
    const jwk = createPrivateKey(buyer.privateKeyPem).export({ format: 'jwk' });
    const recipientKey = await other.kem.importKey('jwk', jwk, false);
    const opened = await other.open(
      {
        recipientKey,
        enc: new Uint8Array(box.subarray(1, 33)).buffer,
        info: new TextEncoder().encode('tusk sealed box v2'),
      },
      new Uint8Array(box.subarray(33)).buffer,
      new TextEncoder().encode('deal-1'),
    );
    expect(Buffer.from(opened)).toEqual(message);
  });

  it('still opens a version 1 box, and refuses it for another deal', async () => {
    const box = versionOneBox(message, buyer.publicKey, 'deal-1');
    expect(await open(box, buyer.privateKeyPem, 'deal-1')).toEqual(message);
    await expect(open(box, buyer.privateKeyPem, 'deal-2')).rejects.toThrow(/does not open/);
  });
});

/** The version 1 layout, written as the earlier code wrote it: version | ephemeral | nonce | ciphertext | tag. */
function versionOneBox(plaintext: Buffer, recipientRaw: string, context: string): Buffer {
  const spki = (raw: Buffer) =>
    createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), raw]),
      format: 'der',
      type: 'spki',
    });
  const recipient = Buffer.from(recipientRaw, 'base64url');
  const ephemeral = generateKeyPairSync('x25519');
  const ephemeralRaw = ephemeral.publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: spki(recipient) });
  const key = Buffer.from(
    hkdfSync(
      'sha256',
      shared,
      Buffer.concat([ephemeralRaw, recipient]),
      Buffer.from('tusk sealed box v1'),
      32,
    ),
  );
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([1]), ephemeralRaw, nonce, body, cipher.getAuthTag()]);
}
