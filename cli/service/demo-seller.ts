import { access, copyFile, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { catalogRoot } from '../../lib/env';
import { listSignedTemplateIds, signaturePath, templatePath } from '../../query-policies/template-files';
import { createSyntheticPatients } from '../../lib/synthetic-patients';
import { loadOrMakeSigningKey, perimeterKeyFile } from '../../lib/key-log';
import { addParty } from '../../lib/parties';
import { ROOT } from './processes';

export const DEMO_SELLER = 'demo-seller';

/**
 * The demo seller's perimeter on this machine: synthetic patient visits (made once), the seller
 * registered with its published template key, its signed templates in the API's catalog, and the
 * environment its perimeter worker needs.
 */
export async function prepareDemoSeller(
  home: string,
  partiesFile: string,
  rows: number,
  log: (line: string) => void,
): Promise<Record<string, string>> {
  const dataset = join(home, 'data', `${DEMO_SELLER}-patients.duckdb`);
  const exists = await access(dataset).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await mkdir(join(home, 'data'), { recursive: true });
    await createSyntheticPatients({ path: dataset, rows });
    log(`demo seller: ${rows.toLocaleString('en')} synthetic patient visits in ${dataset}`);
  }
  const policiesRoot = join(ROOT, 'query-policies');
  const { publicKey } = JSON.parse(
    await readFile(join(policiesRoot, DEMO_SELLER, 'seller.json'), 'utf8'),
  ) as {
    publicKey: string;
  };
  // The perimeter's own key, made where it will find it: it signs releases and its key-log reads.
  const perimeter = await loadOrMakeSigningKey(perimeterKeyFile(join(home, 'perimeter', DEMO_SELLER)));
  await addParty(partiesFile, {
    id: DEMO_SELLER,
    role: 'seller',
    publicKey,
    perimeterKey: perimeter.publicKey,
  });
  await publishDemoTemplates(join(policiesRoot, DEMO_SELLER), join(catalogRoot(home), DEMO_SELLER));
  return {
    TUSK_SELLER_ID: DEMO_SELLER,
    TUSK_SELLER_PUBLIC_KEY: publicKey,
    TUSK_DATASETS: `patients=${dataset}`,
    TUSK_POLICIES_DIR: join(policiesRoot, DEMO_SELLER),
  };
}

/** The demo seller's signed templates, as `tusk template publish` would leave them in the catalog. */
async function publishDemoTemplates(from: string, catalog: string): Promise<void> {
  if (resolve(from) === resolve(catalog)) return;
  await mkdir(catalog, { recursive: true });
  for (const id of await listSignedTemplateIds(from)) {
    await copyFile(templatePath(from, id), templatePath(catalog, id));
    await copyFile(signaturePath(from, id), signaturePath(catalog, id));
  }
}
