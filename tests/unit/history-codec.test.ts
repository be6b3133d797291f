import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AesGcmPayloadCodec,
  KEY_ID_METADATA,
  PayloadTamperedError,
  UnknownCodecKeyError,
} from '../../lib/codec/aes-gcm-codec';
import { CodecKeyring, loadCodecKeyring } from '../../lib/codec/keyring';

const keyA = Buffer.alloc(32, 1).toString('base64');
const keyB = Buffer.alloc(32, 2).toString('base64');
const codecOf = (keys: Record<string, string>) =>
  new AesGcmPayloadCodec(CodecKeyring.fromJson(JSON.stringify(keys), 'test keys'));

const terms = { buyerId: 'acme-buyer', price: '4711', parameters: { min_age: 30 } };
const payload = () => defaultPayloadConverter.toPayload(terms);
const text = (p: Payload) => Buffer.from(p.data!).toString('latin1');

describe('the history codec', () => {
  it('round-trips a payload, and the encoded one shows nothing of it', async () => {
    const codec = codecOf({ a: keyA });
    const [encoded] = await codec.encode([payload()]);
    expect(text(encoded!)).not.toContain('acme-buyer');
    expect(text(encoded!)).not.toContain('4711');
    expect(Buffer.from(encoded!.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(Buffer.from(encoded!.metadata![KEY_ID_METADATA]!).toString()).toBe('a');
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(terms);
  });

  it('refuses a payload with one bit changed', async () => {
    const codec = codecOf({ a: keyA });
    const [encoded] = await codec.encode([payload()]);
    const data = Buffer.from(encoded!.data!);
    data[20]! ^= 1;
    await expect(codec.decode([{ ...encoded!, data }])).rejects.toBeInstanceOf(PayloadTamperedError);
  });

  it('refuses a payload relabelled with another key id it holds', async () => {
    const codec = codecOf({ a: keyA, b: keyB });
    const [encoded] = await codec.encode([payload()]);
    const relabelled = {
      ...encoded!,
      metadata: { ...encoded!.metadata, [KEY_ID_METADATA]: Buffer.from('a') },
    };
    await expect(codec.decode([relabelled])).rejects.toBeInstanceOf(PayloadTamperedError);
  });

  it('refuses a payload under a different key that bears the same id', async () => {
    const [encoded] = await codecOf({ a: keyA }).encode([payload()]);
    await expect(codecOf({ a: keyB }).decode([encoded!])).rejects.toThrow(/does not authenticate/);
  });

  it('names an unknown key id and the keys it holds', async () => {
    const [encoded] = await codecOf({ a: keyA }).encode([payload()]);
    const decoding = codecOf({ b: keyB }).decode([encoded!]);
    await expect(decoding).rejects.toBeInstanceOf(UnknownCodecKeyError);
    await expect(decoding).rejects.toThrow(
      'encrypted under history key "a", which this process does not hold (it holds: b)',
    );
  });

  it('rotates: the newest key encrypts, an older one still decrypts', async () => {
    const [underA] = await codecOf({ a: keyA }).encode([payload()]);
    const rotated = codecOf({ a: keyA, b: keyB });
    const [decoded] = await rotated.decode([underA!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(terms);
    const [underB] = await rotated.encode([payload()]);
    expect(Buffer.from(underB!.metadata![KEY_ID_METADATA]!).toString()).toBe('b');
  });

  it('passes through payloads that were never encrypted', async () => {
    const plain = payload();
    expect(await codecOf({ a: keyA }).decode([plain])).toEqual([plain]);
  });
});

describe('history keys', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['no key', '{}', /holds no key/],
    ['a short key', JSON.stringify({ a: Buffer.alloc(16).toString('base64') }), /not 32 bytes/],
    ['an integer-like id', JSON.stringify({ 1: keyA }), /key id "1"/],
  ])('refuses %s', (_what, json, error) => {
    expect(() => CodecKeyring.fromJson(json, 'TUSK_CODEC_KEYS')).toThrow(error);
  });

  it('makes one development key when none is configured, whoever asks first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tusk-codec-'));
    dirs.push(dir);
    const keyFile = join(dir, 'codec-keys.json');
    const rings = await Promise.all(
      [1, 2, 3].map(() => loadCodecKeyring({ keyFile, generateIfMissing: true })),
    );
    expect(new Set(rings.map((ring) => ring.key(ring.encryptingKeyId)!.toString('hex'))).size).toBe(1);
    expect(Object.keys(JSON.parse(await readFile(keyFile, 'utf8')) as object)).toHaveLength(1);
  });

  it('refuses to run without keys where generating one is off', async () => {
    const keyFile = join(tmpdir(), `tusk-codec-missing-${process.pid}.json`);
    await expect(loadCodecKeyring({ keyFile, generateIfMissing: false })).rejects.toThrow(/ENOENT/);
  });
});
