import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import {
  perimeterConfig,
  readSellerFile,
  sellerWorkspace,
  type PerimeterConfig,
  type SellerFile,
} from '../../lib/seller-workspace';
import { CliError, home, keyPaths, required, writeFileAtomic } from '../common';

export interface Workspace extends ReturnType<typeof sellerWorkspace> {
  seller: SellerFile;
  signingKeyPath: string;
}

/** The seller's workspace as `tusk seller init` made it; a clear error if it was not made. */
export async function readWorkspace(options: { seller?: string; home?: string }): Promise<Workspace> {
  const sellerId = required(
    options.seller ?? process.env.TUSK_SELLER_ID,
    '--seller <sellerId> (or TUSK_SELLER_ID)',
  );
  const homeDir = home(options.home);
  const paths = sellerWorkspace(homeDir, sellerId);
  if (!existsSync(paths.sellerFile))
    throw new CliError(`no seller ${sellerId} in ${homeDir} (make it: tusk seller init ${sellerId})`);
  try {
    return {
      ...paths,
      seller: readSellerFile(paths.sellerFile),
      signingKeyPath: keyPaths(homeDir, sellerId).signing,
    };
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

export async function readPerimeterFile(workspace: Workspace): Promise<PerimeterConfig> {
  const parsed = perimeterConfig.safeParse(JSON.parse(await readFile(workspace.perimeterFile, 'utf8')));
  if (!parsed.success) throw new CliError(`${workspace.perimeterFile} is not valid: ${parsed.error.message}`);
  return parsed.data;
}

export const writePerimeterFile = (
  workspace: Workspace | ReturnType<typeof sellerWorkspace>,
  config: PerimeterConfig,
) => writeFileAtomic(workspace.perimeterFile, `${JSON.stringify(config, null, 2)}\n`);

/** Makes an imported table a dataset the perimeter serves, from the workspace's DuckDB file. */
export async function writePerimeterDatasets(workspace: Workspace, table: string): Promise<void> {
  const config = await readPerimeterFile(workspace);
  const file = relative(workspace.dir, workspace.database) || workspace.database;
  await writePerimeterFile(workspace, { ...config, datasets: { ...config.datasets, [table]: file } });
}
