import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PartyRegistry } from '../../lib/parties';
import { checkTemplateSignature } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { TemplateSignature } from '../../query-policies/signature';
import {
  listSignedTemplateIds,
  readSignedTemplate,
  signaturePath,
  templatePath,
} from '../../query-policies/template-files';

/** Writes beside the target, then renames: a reader never sees half a file. */
async function writeAtomic(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
}

export interface CatalogEntry {
  template: QueryTemplate;
  hash: string;
}

/**
 * The templates buyers may buy: those whose signature verifies with their seller's registered key.
 * The perimeter checks again on its own; this is the buyer-facing view and the API's pre-check.
 */
export class TemplateCatalog {
  constructor(
    private readonly policiesRoot: string,
    private readonly parties: PartyRegistry,
  ) {}

  async list(): Promise<CatalogEntry[]> {
    const sellers = this.parties.all().filter((party) => party.role === 'seller');
    const entries = await Promise.all(sellers.map((seller) => this.listSeller(seller.id, seller.publicKey)));
    return entries.flat();
  }

  /** Every seller's signed copy of one template id: several sellers may offer the same id. */
  async offers(templateId: string): Promise<CatalogEntry[]> {
    return (await this.list()).filter((entry) => entry.template.id === templateId);
  }

  /**
   * Adds a template its seller signed to the catalog (a new version replaces the old one). The
   * caller checked that the signature verifies with the seller's registered key.
   */
  async publish(template: QueryTemplate, signature: TemplateSignature): Promise<void> {
    const directory = join(this.policiesRoot, template.seller);
    await mkdir(directory, { recursive: true });
    // The signature goes last: until it is in place, the old pair no longer matches and is not listed.
    await writeAtomic(templatePath(directory, template.id), `${JSON.stringify(template, null, 2)}\n`);
    await writeAtomic(signaturePath(directory, template.id), `${JSON.stringify(signature, null, 2)}\n`);
  }

  private async listSeller(sellerId: string, sellerKey: string): Promise<CatalogEntry[]> {
    const directory = join(this.policiesRoot, sellerId);
    const entries: CatalogEntry[] = [];
    for (const id of await listSignedTemplateIds(directory)) {
      try {
        const { template, signature } = await readSignedTemplate(directory, id);
        const check = checkTemplateSignature(template, signature, sellerKey);
        if (check.ok && template.seller === sellerId) entries.push({ template, hash: check.hash });
      } catch {
        // A malformed template file is the seller's to fix (`tusk template lint`); it is not for sale.
      }
    }
    return entries;
  }
}
