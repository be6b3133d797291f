import { randomUUID } from 'node:crypto';
import {
  encryptSelections,
  publicKeyFromPem,
  REFUSED_DEAL_STAGES,
  RESTING_DEAL_STAGES,
  waitFor,
  WaitTimeoutError,
  type DealStatus,
  type QueryTemplate,
  type TuskClient,
} from '../../sdk';
import {
  CliError,
  EXIT,
  home,
  keyPaths,
  partyClient,
  readText,
  type PartyOptions,
  jsonText,
} from '../common';
import { encode, progressOnStderr } from '../party-commands';
import { readHeSecret } from './he-keys';
import { keepSelections, keepSignedTerms } from '../settlement/kept-terms';

export interface CatalogTemplate {
  id: string;
  seller: string;
  hash: string;
  price: string;
  title: string;
  dimensions: string[];
  metrics: { name: string; aggregate: string }[];
  groupDomain?: QueryTemplate['groupDomain'];
  privateSelection?: boolean;
  multiSeller?: boolean;
}

/**
 * The templates for sale; the platform fee it states is what this client signs beside a price, and
 * the acceptance window it suggests is signed unless the buyer chose its own.
 */
export async function catalog(client: TuskClient): Promise<CatalogTemplate[]> {
  const listed = await client.get<{
    templates: CatalogTemplate[];
    feeBps?: number;
    acceptanceWindowSeconds?: number;
  }>('/templates');
  if (listed.feeBps !== undefined) client.feeBps = listed.feeBps;
  if (listed.acceptanceWindowSeconds !== undefined && client.acceptanceWindowSeconds === undefined)
    client.acceptanceWindowSeconds = listed.acceptanceWindowSeconds;
  return listed.templates;
}

/** `--acceptance-window <hours>` as the seconds the terms sign (at least one second, at most a year). */
export function acceptanceWindowSecondsOf(hours: string | undefined): number | undefined {
  if (hours === undefined) return undefined;
  const value = Number(hours);
  const seconds = Math.round(value * 3600);
  if (!Number.isFinite(value) || seconds < 1 || seconds > 365 * 24 * 3600)
    throw new CliError(`--acceptance-window takes hours, from 0.0003 (1 s) to 8760 (a year); got ${hours}`);
  return seconds;
}

/** How the signed window reads in a buyer's output. */
export const describeWindow = (seconds: unknown) =>
  typeof seconds === 'number'
    ? `  acceptance window: ${seconds % 3600 === 0 ? `${seconds / 3600} h` : `${seconds} s`} after delivery (signed)`
    : undefined;

/** The template a buyer means: by id, and by seller when several sell a copy of it. */
export async function chooseTemplate(client: TuskClient, templateId: string, sellerId?: string) {
  const offers = (await catalog(client)).filter((t) => t.id === templateId);
  const chosen = sellerId ? offers.find((t) => t.seller === sellerId) : offers[0];
  if (!chosen)
    throw new CliError(
      `no template ${templateId}${sellerId ? ` of seller ${sellerId}` : ''} for sale`,
      EXIT.refused,
    );
  if (!sellerId && offers.length > 1)
    throw new CliError(
      `${offers.length} sellers offer ${templateId} (${offers.map((t) => t.seller).join(', ')}): pick one with --seller`,
    );
  return chosen;
}

export function parseParam(pair: string): [string, string | number] {
  const at = pair.indexOf('=');
  if (at < 1) throw new CliError(`--param takes name=value, got ${JSON.stringify(pair)}`);
  const value = pair.slice(at + 1);
  return [pair.slice(0, at), /^-?\d+$/.test(value) ? Number(value) : value];
}

export interface BuyOptions extends PartyOptions {
  param?: string[];
  dealId?: string;
  jurisdiction: string;
  purpose: string;
  accept?: string[];
  wait?: boolean;
  seller?: string;
  select?: string[];
  json?: boolean;
  /** Hours, as typed: signed as `acceptanceWindowSeconds`. */
  acceptanceWindow?: string;
}

const complianceOf = (options: BuyOptions) => ({
  jurisdiction: options.jurisdiction,
  purpose: options.purpose,
  acceptedDataClasses: options.accept ?? [],
});

/** On a chain, the buyer pays the escrow itself: the deal waits for that (the local ledger does not). */
const awaitsPayment = (status: DealStatus) =>
  status.stage === 'quoted' && status.escrow !== undefined && !status.escrow.address.startsWith('ledger:');

/** Waits until the deal rests (or awaits the buyer's payment); progress on stderr. */
export async function waitForDeal(client: TuskClient, path: string, dealId: string): Promise<DealStatus> {
  return waitFor<DealStatus>(
    client,
    path,
    (s) => awaitsPayment(s) || RESTING_DEAL_STAGES.has(s.stage) || s.problem !== undefined,
    { onStage: progressOnStderr(dealId) },
  ).catch((error: unknown) => {
    if (error instanceof WaitTimeoutError) throw new CliError(error.message, EXIT.refused);
    throw error;
  });
}

/** Prints the outcome (and the acceptance window the buyer signed); a refused, refunded or failed deal exits 1. */
export function report(status: DealStatus, json?: boolean, acceptanceWindowSeconds?: unknown): void {
  if (json) console.log(jsonText(status));
  else if (awaitsPayment(status)) {
    const escrow = status.escrow!.address;
    console.log(
      `deal ${status.dealId}: pay ${status.price} into its escrow ${escrow} from your own wallet\n` +
        `  (on the local network: npm run aztec -- pay 1 ${escrow} ${status.price}), then: tusk buyer status ${status.dealId}`,
    );
  } else
    console.log(
      `deal ${status.dealId}: ${status.stage}${status.problem ? ` (${status.problem.code}: ${status.problem.reason ?? ''})` : ''}`,
    );
  const window = json ? undefined : describeWindow(acceptanceWindowSeconds);
  if (window) console.log(window);
  if (REFUSED_DEAL_STAGES.has(status.stage) || status.problem) process.exitCode = EXIT.refused;
}

/** Cells of a group, as `--select 100,I10` gives them (one value per dimension). */
const cellsOf = (value: string) => value.split(',').map((cell) => cell.trim());

/**
 * One answer from one seller. With --select, a private selection: each chosen group is encrypted here
 * to the buyer's HE key, so nobody but the buyer learns which groups it asked for.
 */
export async function buy(templateId: string, options: BuyOptions): Promise<void> {
  const client = await partyClient(options);
  client.acceptanceWindowSeconds = acceptanceWindowSecondsOf(options.acceptanceWindow);
  const homeDir = home(options.home);
  const chosen = await chooseTemplate(client, templateId, options.seller);
  let privateSelection: { heKeyRef: string; selectionRefs: string[] } | undefined;
  let price = chosen.price;
  if (options.select?.length) {
    if (!chosen.privateSelection)
      throw new CliError(`template ${templateId} offers no private selection`, EXIT.refused);
    const secret = await readHeSecret(homeDir, client.partyId);
    const blobs = await encryptSelections(
      secret,
      chosen as unknown as QueryTemplate,
      options.select.map(cellsOf),
    ).catch((error: Error) => {
      throw new CliError(error.message);
    });
    privateSelection = {
      heKeyRef: secret.keyRef,
      selectionRefs: await Promise.all(blobs.map((bytes) => client.putBlob(bytes))),
    };
    // Each selected group is priced as one answer.
    price = String(BigInt(chosen.price) * BigInt(options.select.length));
  }
  const resultKey = await readText(
    keyPaths(homeDir, client.partyId).result,
    `result key of ${client.partyId}`,
  );
  // The buyer signs the terms; every perimeter checks that signature before it reserves anything.
  const dealId = options.dealId ?? randomUUID();
  const signed = client.signed('cohort_query', {
    dealId,
    templateId,
    templateHash: chosen.hash,
    // The signed terms name the seller paid.
    sellerId: chosen.seller,
    parameters: Object.fromEntries((options.param ?? []).map(parseParam)),
    price,
    buyerPublicKey: publicKeyFromPem(resultKey),
    ...(privateSelection ? { privateSelection } : {}),
    compliance: complianceOf(options),
  });
  // Kept before it is sent: `tusk buyer pay` pays only what this says.
  await keepSignedTerms(options.home, client, 'cohort_query', dealId, signed);
  if (options.select?.length) await keepSelections(options.home, client.partyId, dealId, options.select);
  const status = await client.post<DealStatus>('/deals', signed);
  report(
    options.wait ? await waitForDeal(client, `/deals/${encode(status.dealId)}`, status.dealId) : status,
    options.json,
    (signed as { acceptanceWindowSeconds?: unknown }).acceptanceWindowSeconds,
  );
}

/** One template over several sellers, summed under encryption to the buyer's HE key. */
export async function buySum(
  templateId: string,
  options: Omit<BuyOptions, 'seller'> & { sellers: string[] },
) {
  const client = await partyClient(options);
  client.acceptanceWindowSeconds = acceptanceWindowSecondsOf(options.acceptanceWindow);
  const offers = (await catalog(client)).filter((t) => t.id === templateId);
  const sellers = options.sellers.map((sellerId) => {
    const offer = offers.find((t) => t.seller === sellerId);
    if (!offer) throw new CliError(`seller ${sellerId} does not offer ${templateId}`, EXIT.refused);
    return offer;
  });
  const secret = await readHeSecret(home(options.home), client.partyId);
  const dealId = options.dealId ?? randomUUID();
  const signed = client.signed('multi_seller', {
    dealId,
    templateId,
    sellers: sellers.map((s) => ({ sellerId: s.seller, templateHash: s.hash, price: s.price })),
    parameters: Object.fromEntries((options.param ?? []).map(parseParam)),
    price: String(sellers.reduce((sum, s) => sum + BigInt(s.price), 0n)),
    heKeyRef: secret.keyRef,
    compliance: complianceOf(options),
  });
  await keepSignedTerms(options.home, client, 'multi_seller', dealId, signed);
  const status = await client.post<DealStatus>('/multi-seller-deals', signed);
  report(
    options.wait ? await waitForDeal(client, `/multi-seller-deals/${encode(dealId)}`, dealId) : status,
    options.json,
    (signed as { acceptanceWindowSeconds?: unknown }).acceptanceWindowSeconds,
  );
}
