import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AesGcmPayloadCodec,
  KEY_ID_METADATA,
  PayloadMisplacedError,
  PayloadTamperedError,
  UnencryptedPayloadError,
  UnknownCodecKeyError,
  VERSION_METADATA,
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

  it('shows read-only tools (no context) a payload that was never encrypted as it is', async () => {
    const plain = payload();
    expect(await codecOf({ a: keyA }).decode([plain])).toEqual([plain]);
  });
});

describe('the history codec binds each payload to where it belongs', () => {
  const namespace = 'default';
  const inWorkflow = (workflowId: string) => ({ type: 'workflow' as const, namespace, workflowId });
  const inActivity = (workflowId: string, activityId: string) => ({
    type: 'activity' as const,
    namespace,
    workflowId,
    activityId,
    isLocal: false,
  });

  it('decodes a payload in the workflow and place it was sealed for', async () => {
    const codec = codecOf({ a: keyA });
    const [sealed] = await codec.encode([payload()], inActivity('deal-1', '3'));
    const [decoded] = await codec.decode([sealed!], inActivity('deal-1', '3'));
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(terms);
  });

  it('refuses a genuine payload of one workflow presented to another', async () => {
    const codec = codecOf({ a: keyA });
    const [sealed] = await codec.encode([payload()], inWorkflow('deal-1'));
    await expect(codec.decode([sealed!], inWorkflow('deal-2'))).rejects.toThrow(PayloadMisplacedError);
    await expect(codec.decode([sealed!], inWorkflow('deal-2'))).rejects.toThrow(
      'a payload sealed for workflow "deal-1", workflow was presented to workflow "deal-2", workflow',
    );
  });

  it("refuses an activity's payload moved to another activity, or to the workflow's own input", async () => {
    const codec = codecOf({ a: keyA });
    const [sealed] = await codec.encode([payload()], inActivity('deal-1', '3'));
    await expect(codec.decode([sealed!], inActivity('deal-1', '4'))).rejects.toThrow(PayloadMisplacedError);
    await expect(codec.decode([sealed!], inWorkflow('deal-1'))).rejects.toThrow(PayloadMisplacedError);
  });

  it('refuses a payload sealed with no place when a workflow receives it', async () => {
    const codec = codecOf({ a: keyA });
    const [unbound] = await codec.encode([payload()]);
    await expect(codec.decode([unbound!], inWorkflow('deal-1'))).rejects.toThrow(PayloadMisplacedError);
  });

  it('refuses a payload in clear handed to a workflow or an activity', async () => {
    await expect(codecOf({ a: keyA }).decode([payload()], inWorkflow('deal-1'))).rejects.toThrow(
      UnencryptedPayloadError,
    );
    const forOldFixtures = new AesGcmPayloadCodec(
      CodecKeyring.fromJson(JSON.stringify({ a: keyA }), 'test keys'),
      { allowPlaintext: true },
    );
    expect(await forOldFixtures.decode([payload()], inWorkflow('deal-1'))).toEqual([payload()]);
  });

  it('cannot be downgraded: a version-2 payload relabelled as version 1 does not authenticate', async () => {
    const [sealed] = await codecOf({ a: keyA }).encode([payload()], inWorkflow('deal-1'));
    const metadata = { ...sealed!.metadata };
    delete metadata[VERSION_METADATA];
    await expect(
      codecOf({ a: keyA }).decode([{ ...sealed!, metadata }], inWorkflow('deal-2')),
    ).rejects.toThrow(PayloadTamperedError);
  });

  it('still decodes a payload written by version 1 (no place sealed), so old histories replay', async () => {
    // Version 1 as it was written: the key id alone as associated data, no version label.
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(keyA, 'base64'), iv);
    cipher.setAAD(Buffer.from('a'));
    const plain = payload();
    const envelope = JSON.stringify({
      metadata: { encoding: Buffer.from(plain.metadata!.encoding!).toString('base64') },
      data: Buffer.from(plain.data!).toString('base64'),
    });
    const v1 = {
      metadata: { encoding: Buffer.from('binary/encrypted'), [KEY_ID_METADATA]: Buffer.from('a') },
      data: Buffer.concat([iv, cipher.update(envelope), cipher.final(), cipher.getAuthTag()]),
    };
    const [decoded] = await codecOf({ a: keyA }).decode([v1], inWorkflow('deal-1'));
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(terms);
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
