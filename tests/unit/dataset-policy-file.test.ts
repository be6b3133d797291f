import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signDatasetPolicy, type DatasetPolicy } from '../../query-policies/dataset-policy';
import { DatasetPolicyError, readTrustedDatasetPolicy } from '../../query-policies/dataset-policy-file';

const DEMO = join(__dirname, '../../query-policies/demo-seller');

describe('the signed dataset policy file', () => {
  it("the demo seller's policy reads and verifies under the key in its seller.json", async () => {
    const { publicKey } = JSON.parse(await readFile(join(DEMO, 'seller.json'), 'utf8')) as {
      publicKey: string;
    };
    const policy = await readTrustedDatasetPolicy(DEMO, 'demo-seller', publicKey);
    expect(policy.datasets.patients).toMatchObject({ windowDays: 30, perBuyer: { epsilon: 20 } });
  });

  it('is trusted only under the perimeter’s own key and seller, never the key inside the file', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tusk-policy-'));
    const seller = generateEd25519KeyPair();
    const other = generateEd25519KeyPair();
    const policy: DatasetPolicy = {
      seller: 's1',
      version: 1,
      datasets: {
        patients: { windowDays: 7, total: { epsilon: 10, delta: 0 }, perBuyer: { epsilon: 1, delta: 0 } },
      },
    };
    const write = (content: unknown) =>
      writeFile(join(directory, 'dataset-policy.json'), JSON.stringify(content));

    await expect(readTrustedDatasetPolicy(directory, 's1', seller.publicKey)).rejects.toThrow(
      /dataset policy .*dataset-policy\.json does not exist or cannot be read/,
    );
    await write({ policy, signature: signDatasetPolicy(policy, other.privateKeyPem) });
    await expect(readTrustedDatasetPolicy(directory, 's1', seller.publicKey)).rejects.toThrow(
      /is not approved: the signature does not verify with seller s1's key/,
    );
    await write({ policy, signature: signDatasetPolicy(policy, seller.privateKeyPem) });
    await expect(readTrustedDatasetPolicy(directory, 's1', seller.publicKey)).resolves.toEqual(policy);
    await expect(readTrustedDatasetPolicy(directory, 's2', seller.publicKey)).rejects.toThrow(
      /belongs to seller s1, not s2/,
    );
    const raised = { ...policy, datasets: { patients: { ...policy.datasets.patients!, windowDays: 1 } } };
    await write({ policy: raised, signature: signDatasetPolicy(policy, seller.privateKeyPem) });
    await expect(readTrustedDatasetPolicy(directory, 's1', seller.publicKey)).rejects.toThrow(
      /changed after signing/,
    );
    await write({ policy: { ...policy, datasets: { patients: { windowDays: 7 } } } });
    await expect(readTrustedDatasetPolicy(directory, 's1', seller.publicKey)).rejects.toThrow(
      DatasetPolicyError,
    );
    await writeFile(join(directory, 'dataset-policy.json'), '{ torn');
    await expect(readTrustedDatasetPolicy(directory, 's1', seller.publicKey)).rejects.toThrow(/is not JSON/);
  });
});
