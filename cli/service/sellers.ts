import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { applyPerimeterConfig, PERIMETER_FILE, readPerimeterConfig } from '../../lib/seller-workspace';
import { loadOrMakeSigningKey, perimeterKeyFile } from '../../lib/key-log';
import { loadPerimeterSealingKey } from '../../lib/perimeter-key';
import { PartyRegistry } from '../../lib/parties';
import { CliError } from '../common';
import { addParty } from '../../lib/parties';

/** A seller whose perimeter `tusk up` runs, from its perimeter.json. */
export interface ConfiguredSeller {
  sellerId: string;
  perimeterConfig: string;
}

/**
 * Which perimeters to run: the `--seller` paths given (a perimeter.json or the directory holding
 * one), else TUSK_PERIMETER_CONFIG, else every seller `tusk seller init` made under this home
 * (`<home>/sellers/<id>/perimeter.json`). Each is read now, so a broken one stops `tusk up` with
 * its reason instead of a perimeter that crash-loops.
 */
export async function configuredSellers(home: string, given: readonly string[]): Promise<ConfiguredSeller[]> {
  const paths =
    given.length > 0
      ? await Promise.all(given.map(perimeterFileAt))
      : process.env.TUSK_PERIMETER_CONFIG
        ? [resolve(process.env.TUSK_PERIMETER_CONFIG)]
        : await sellersUnder(home);
  const sellers = paths.map((path) => {
    try {
      return { sellerId: readPerimeterConfig(path).sellerId, perimeterConfig: path };
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  });
  const ids = sellers.map((seller) => seller.sellerId);
  const twice = ids.find((id, index) => ids.indexOf(id) !== index);
  if (twice)
    throw new CliError(`seller ${twice} is named by two perimeter files: run one perimeter per seller`);
  return sellers;
}

async function perimeterFileAt(path: string): Promise<string> {
  const absolute = resolve(path);
  const info = await stat(absolute).catch(() => undefined);
  if (!info) throw new CliError(`--seller ${path}: no such file or directory`);
  return info.isDirectory() ? join(absolute, PERIMETER_FILE) : absolute;
}

async function sellersUnder(home: string): Promise<string[]> {
  const dir = join(home, 'sellers');
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries
    .filter((each) => each.isDirectory())
    .sort((a, b) => a.name.localeCompare(b.name))) {
    const file = join(dir, entry.name, PERIMETER_FILE);
    if (
      await stat(file).then(
        () => true,
        () => false,
      )
    )
      found.push(file);
  }
  return found;
}

const LOG_SETTINGS = ['TUSK_LOG_URL', 'TUSK_OPERATOR_PUBLIC_KEY'];

/**
 * The perimeter worker's variables from its perimeter.json, set explicitly so that variables this
 * shell happens to export (another seller's TUSK_SELLER_ID) cannot override the file. Beside the
 * operator's own service, the log settings are the service's: that API is the log.
 */
export function perimeterEnvironment(
  seller: ConfiguredSeller,
  withLogSettings: boolean,
): Record<string, string> {
  const env: NodeJS.ProcessEnv = { TUSK_PERIMETER_CONFIG: seller.perimeterConfig };
  applyPerimeterConfig(env);
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && (withLogSettings || !LOG_SETTINGS.includes(entry[0])),
    ),
  );
}

/**
 * A registered seller whose perimeter runs here gets that perimeter's key registered too (made now
 * where the perimeter will find it): the perimeter signs its questions to the key log with it. A
 * seller not registered yet is left to the operator; a different key already registered is kept.
 */
export async function registerPerimeterKey(
  seller: ConfiguredSeller,
  home: string,
  partiesFile: string,
  say: (line: string) => void,
): Promise<void> {
  const registered = (await PartyRegistry.load(partiesFile).catch(() => undefined))?.get(seller.sellerId);
  if (!registered) return;
  const stateDir =
    readPerimeterConfig(seller.perimeterConfig).stateDir ?? join(home, 'perimeter', seller.sellerId);
  const { publicKey } = await loadOrMakeSigningKey(perimeterKeyFile(stateDir));
  const sealing = (await loadPerimeterSealingKey(stateDir)).publicKey;
  const keys = {
    perimeterKey: registered.perimeterKey ?? publicKey,
    perimeterSealingKey: registered.perimeterSealingKey ?? sealing,
  };
  if (keys.perimeterKey !== publicKey || keys.perimeterSealingKey !== sealing)
    say(`seller ${seller.sellerId}: the registry holds other perimeter keys than ${stateDir}'s; kept`);
  if (
    keys.perimeterKey === registered.perimeterKey &&
    keys.perimeterSealingKey === registered.perimeterSealingKey
  )
    return;
  await addParty(partiesFile, { ...registered, ...keys });
}
