import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addParty } from '../../lib/parties';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { ReloadingPartyRegistry } from '../../lib/parties';

describe('a party registry that follows its file', () => {
  let dir: string;
  let file: string;
  const warnings: string[] = [];
  const party = (id: string) => ({
    id,
    role: 'buyer' as const,
    publicKey: generateEd25519KeyPair().publicKey,
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-parties-'));
    file = join(dir, 'parties.json');
    warnings.length = 0;
    await addParty(file, party('first'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('knows a party added after it was opened', async () => {
    const registry = await ReloadingPartyRegistry.open(file, (w) => warnings.push(w));
    expect(registry.get('later')).toBeUndefined();
    await addParty(file, party('later'));
    expect(registry.get('later')?.id).toBe('later');
    expect(registry.all().map((p) => p.id)).toEqual(['first', 'later']);
  });

  it('keeps the parties it had when the file is edited into something invalid, and says so', async () => {
    const registry = await ReloadingPartyRegistry.open(file, (w) => warnings.push(w));
    await writeFile(file, '{ "parties": [ { "id": "half');
    expect(registry.get('first')?.id).toBe('first');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^the parties file .* is not JSON: .*; keeping the 1 parties read before$/);
  });
});
