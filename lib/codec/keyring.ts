import { hkdfSync, randomBytes } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';

/** Key ids go into every payload's metadata: short, and never integer-like (JS would reorder those). */
const KEY_ID = /^[a-z][a-z0-9._-]{0,63}$/i;

/** The history encryption keys one process holds: the newest encrypts, any of them decrypts. */
export class CodecKeyring {
  private constructor(
    private readonly keys: ReadonlyMap<string, Buffer>,
    readonly encryptingKeyId: string,
  ) {}

  /**
   * `{ "<id>": "<base64 of 32 bytes>", ... }`: the last entry is the newest, and encrypts. Rotation
   * appends a key; a retired key stays listed as long as any history written under it is kept.
   */
  static fromJson(json: string, where: string): CodecKeyring {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw new Error(`${where}: not JSON; expected { "<key id>": "<base64 32-byte key>", ... }`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error(`${where}: expected an object { "<key id>": "<base64 32-byte key>", ... }`);
    const keys = new Map<string, Buffer>();
    for (const [id, value] of Object.entries(parsed)) {
      if (!KEY_ID.test(id)) throw new Error(`${where}: key id "${id}" must match ${KEY_ID}`);
      const key = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.alloc(0);
      if (key.length !== 32) throw new Error(`${where}: key "${id}" is not 32 bytes of base64 (AES-256)`);
      keys.set(id, key);
    }
    const newest = [...keys.keys()].at(-1);
    if (!newest) throw new Error(`${where}: holds no key`);
    return new CodecKeyring(keys, newest);
  }

  get ids(): string[] {
    return [...this.keys.keys()];
  }

  key(id: string): Buffer | undefined {
    return this.keys.get(id);
  }

  /**
   * A key for one purpose besides payloads, derived (HKDF-SHA256) from the oldest listed key, so
   * appending a key for rotation does not change it.
   */
  derivedKey(purpose: string): Buffer {
    const oldest = this.keys.get(this.ids[0]!)!;
    return Buffer.from(hkdfSync('sha256', oldest, Buffer.alloc(0), `tusk ${purpose}`, 32));
  }
}

export const newKeyFileJson = (id: string) =>
  `${JSON.stringify({ [id]: randomBytes(32).toString('base64') }, null, 2)}\n`;

/** Where the keys come from: `TUSK_CODEC_KEYS` (the JSON itself) wins over the key file. */
export interface KeySource {
  keysJson?: string;
  keyFile: string;
  /** With neither configured, make a development key in the key file (local runs only). */
  generateIfMissing: boolean;
}

export async function loadCodecKeyring(source: KeySource): Promise<CodecKeyring> {
  if (source.keysJson) return CodecKeyring.fromJson(source.keysJson, 'TUSK_CODEC_KEYS');
  try {
    return CodecKeyring.fromJson(await readFile(source.keyFile, 'utf8'), source.keyFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !source.generateIfMissing) throw error;
  }
  if (await createOnce(source.keyFile, newKeyFileJson(`dev-${Date.now()}`)))
    console.warn(`history codec: no key configured; generated a development key in ${source.keyFile}`);
  return CodecKeyring.fromJson(await readFile(source.keyFile, 'utf8'), source.keyFile);
}

/**
 * Writes `content` to `file` unless it exists. Processes started together race here: a hard link
 * appears whole or fails with EEXIST, so exactly one key wins and nobody reads a half-written file.
 */
export async function createOnce(file: string, content: string): Promise<boolean> {
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(draft, content, { mode: 0o600 });
  try {
    await link(draft, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    await rm(draft, { force: true });
  }
}
