import {
  fetchDealResult,
  heEnvelopeOf,
  openAnyResult,
  TuskApiError,
  type OpenedResult,
  type SealedResult,
  type TuskClient,
  describePrivacy,
  openDealTable,
  ReleaseRefusedError,
} from '../../sdk';
import { CliError, EXIT, home, keyPaths, partyClient, readText, type PartyOptions } from '../common';
import { keptSelections, readKeptTermsHash, readSignedTerms } from '../settlement/kept-terms';
import { logKeyOf, releaseRefusal, requireContributions, requireSellersRelease } from './release-acceptance';
import { formatTable } from '../../lib/format-table';

export { describePrivacy };
import { catalog } from './buy';
import { readHeSecret } from './he-keys';

/**
 * A plain deal's sealed answer, its seller's release statement checked (against the terms the buyer
 * kept, when given), opened and its commitment checked; refused (exit 1) otherwise.
 */
export async function openDealResult(
  client: TuskClient,
  resultKeyPem: string,
  dealId: string,
  operatorKey?: string,
  termsHash?: string,
) {
  const logKey = await logKeyOf(client, operatorKey);
  try {
    return await openDealTable(client, resultKeyPem, dealId, { logKey, ...(termsHash ? { termsHash } : {}) });
  } catch (error) {
    if (error instanceof ReleaseRefusedError)
      throw releaseRefusal(error.dealId, error.sellers, error.problems);
    throw error;
  }
}

async function sellerOf(client: TuskClient, dealId: string): Promise<string> {
  const { sellerId } = await client.get<{ sellerId?: string }>(`/deals/${encodeURIComponent(dealId)}`);
  if (!sellerId) throw new CliError(`deal ${dealId} names no seller`, EXIT.refused);
  return sellerId;
}

/** Before anything is opened: the seller(s) released exactly this, for the terms kept here. */
async function requireReleased(
  client: TuskClient,
  sealed: SealedResult,
  path: string,
  options: { home?: string },
  encrypted: boolean,
) {
  if (path === 'deals') {
    const termsHash = await readKeptTermsHash(options.home, client.partyId, 'cohort_query', sealed.dealId);
    const kind = encrypted ? 'he_selection' : 'sealed_table';
    await requireSellersRelease(client, sealed, await sellerOf(client, sealed.dealId), { kind, termsHash });
    return;
  }
  const termsHash = await readKeptTermsHash(options.home, client.partyId, 'multi_seller', sealed.dealId);
  const { contributors } = await client.get<{ contributors: string[] }>(
    `/multi-seller-deals/${encodeURIComponent(sealed.dealId)}`,
  );
  await requireSignedContributors(sealed, contributors, options, client.partyId);
  await requireContributions(client, sealed, contributors, termsHash);
}

/**
 * The contributors the status names are sellers this buyer signed for, at least two, and as many as
 * the sum says it adds: the operator cannot pass one seller's answer off as a sum.
 */
async function requireSignedContributors(
  sealed: SealedResult,
  contributors: string[],
  options: { home?: string },
  partyId: string,
) {
  const terms = await readSignedTerms(options.home, partyId, 'multi_seller', sealed.dealId);
  const signed = ((terms.sellers ?? []) as { sellerId: string }[]).map((s) => s.sellerId);
  const summed = heEnvelopeOf(Buffer.from(sealed.ciphertext, 'base64'))?.contributors;
  const problems = [
    ...contributors.filter((id) => !signed.includes(id)).map((id) => `you signed no share for ${id}`),
    ...(contributors.length < 2 ? ['a sum needs at least two sellers'] : []),
    ...(summed !== contributors.length
      ? [`the sum adds ${summed ?? 'no'} contributions, not the ${contributors.length} named`]
      : []),
  ];
  if (problems.length > 0)
    throw new CliError(`refusing the answer of ${sealed.dealId}: ${problems.join('; ')}`, EXIT.refused);
}

/** A deal's result, whichever kind of deal it is (a multi-seller deal is tried when the id is no plain deal). */
async function fetchAny(client: TuskClient, dealId: string, multi?: boolean) {
  if (multi) return { sealed: await fetchDealResult(client, dealId, true), path: 'multi-seller-deals' };
  try {
    return { sealed: await fetchDealResult(client, dealId), path: 'deals' };
  } catch (error) {
    if (!(error instanceof TuskApiError) || error.status !== 404) throw error;
    return { sealed: await fetchDealResult(client, dealId, true), path: 'multi-seller-deals' };
  }
}

const text = (value: bigint | string[] | undefined) =>
  value === undefined ? '' : Array.isArray(value) ? value.join('/') : value.toString();

function describe(opened: OpenedResult, selections: string[] | undefined): string {
  switch (opened.kind) {
    case 'table':
      return `${formatTable(opened.payload.columns, opened.payload.rows)}\n\n${describePrivacy(opened.payload.privacy)}\ncommitment verified`;
    case 'selection': {
      const names = Object.keys(opened.answers[0] ?? {});
      return formatTable(
        [selections ? 'group' : 'selection', ...names],
        opened.answers.map((answer, i) => [
          selections?.[i] ?? String(i + 1),
          ...names.map((n) => text(answer[n])),
        ]),
      );
    }
    case 'sum': {
      const names = Object.keys(opened.groups[0] ?? {}).filter((n) => n !== 'group');
      return `${formatTable(
        ['group', ...names],
        opened.groups.map((g) => [g.group.join('/'), ...names.map((n) => text(g[n]))]),
      )}\n\nsum of ${opened.contributors} sellers' encrypted answers, decrypted here`;
    }
  }
}

const jsonSafe = (value: unknown) =>
  JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);

/** Fetches, opens on this machine and prints a deal's answer: a sealed table, a private selection or a sum. */
export async function showResult(
  dealId: string,
  options: PartyOptions & { multi?: boolean; json?: boolean },
) {
  const client = await partyClient(options);
  const homeDir = home(options.home);
  const { sealed, path } = await fetchAny(client, dealId, options.multi);
  const encrypted = heEnvelopeOf(Buffer.from(sealed.ciphertext, 'base64')) !== undefined;
  let template;
  if (encrypted) {
    const status = await client.get<{ templateId: string; sellerId?: string }>(
      `/${path}/${encodeURIComponent(dealId)}`,
    );
    template = (await catalog(client)).find(
      (t) => t.id === status.templateId && (!status.sellerId || t.seller === status.sellerId),
    );
    if (!template) throw new CliError(`template ${status.templateId} is no longer in the catalog`, 1);
  }
  await requireReleased(client, sealed, path, options, encrypted);
  const opened = await openAnyResult(
    sealed,
    encrypted
      ? { heSecret: await readHeSecret(homeDir, client.partyId) }
      : {
          resultKeyPem: await readText(
            keyPaths(homeDir, client.partyId).result,
            `result key of ${client.partyId}`,
          ),
        },
    template as never,
  ).catch((error: Error) => {
    throw new CliError(`cannot open the answer of ${dealId}: ${error.message}`, 1);
  });
  const selections =
    opened.kind === 'selection' ? await keptSelections(options.home, client.partyId, dealId) : undefined;
  console.log(options.json ? jsonSafe(opened) : describe(opened, selections));
}
