import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TemplateCatalog } from '../../api/templates/catalog';
import { publishTemplate } from '../../api/templates/service';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { PartyRegistry, type Party } from '../../lib/parties';
import { signTemplate } from '../../query-policies/signature';
import { readTemplateFile } from '../../query-policies/template-files';

const DEMO = join(__dirname, '../../query-policies/demo-seller/cohort-cost-by-zip3.json');

describe('POST /templates: a seller publishes its own signed template', () => {
  it('adds it to the catalog only when signed by the calling seller with its registered key', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tusk-publish-'));
    try {
      const keys = generateEd25519KeyPair();
      const other = generateEd25519KeyPair();
      const seller: Party = { id: 'bank', role: 'seller', publicKey: keys.publicKey };
      const buyer: Party = { id: 'acme', role: 'buyer', publicKey: other.publicKey };
      const catalog = new TemplateCatalog(root, new PartyRegistry([seller, buyer]));
      const template = { ...(await readTemplateFile(DEMO)), seller: 'bank' };

      await expect(
        publishTemplate(catalog, seller, template, signTemplate(template, other.privateKeyPem)),
      ).rejects.toMatchObject({ code: 'template_signature_invalid' });
      await expect(
        publishTemplate(catalog, buyer, template, signTemplate(template, keys.privateKeyPem)),
      ).rejects.toMatchObject({ code: 'forbidden' });
      const elsewhere = { ...template, seller: 'other-bank' };
      await expect(
        publishTemplate(catalog, seller, elsewhere, signTemplate(elsewhere, keys.privateKeyPem)),
      ).rejects.toMatchObject({ code: 'forbidden' });
      expect(await catalog.list()).toEqual([]);

      const published = await publishTemplate(
        catalog,
        seller,
        template,
        signTemplate(template, keys.privateKeyPem),
      );
      expect(await catalog.list()).toEqual([{ template, hash: published.hash }]);
      expect(JSON.parse(await readFile(join(root, 'bank', `${template.id}.json`), 'utf8'))).toEqual(template);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
