import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerOperatorServices } from '../../lib/service-parties';
import { addParty } from '../../lib/parties';
import { generateEd25519KeyPair } from '../../lib/ed25519';

describe('registering the operator services (what compose runs once before the workers)', () => {
  let home: string;
  const partiesFile = () => join(home, 'parties.json');
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'tusk-services-'));
  });
  afterEach(() => rm(home, { recursive: true, force: true }));

  it('registers each service under its own key once; a repeat leaves the registry untouched', async () => {
    const first = await registerOperatorServices(partiesFile(), home);
    expect(first.map((s) => [s.partyId, s.changed])).toEqual([
      ['operator-settlement', true],
      ['operator-coordinator', true],
    ]);
    const registry = JSON.parse(await readFile(partiesFile(), 'utf8')) as { parties: unknown[] };
    expect(registry.parties).toEqual(
      first.map((s) => ({ id: s.partyId, role: 'operator', publicKey: s.publicKey })),
    );
    const written = (await stat(partiesFile())).mtimeMs;

    const again = await registerOperatorServices(partiesFile(), home);
    expect(again).toEqual(first.map((s) => ({ ...s, changed: false })));
    expect((await stat(partiesFile())).mtimeMs).toBe(written);
  });

  it("puts a service's own key back when the registry names another", async () => {
    const [settlement] = await registerOperatorServices(partiesFile(), home);
    await addParty(partiesFile(), {
      id: 'operator-settlement',
      role: 'operator',
      publicKey: generateEd25519KeyPair().publicKey,
    });
    const [repaired] = await registerOperatorServices(partiesFile(), home);
    expect(repaired).toEqual({ ...settlement, changed: true });
  });
});
