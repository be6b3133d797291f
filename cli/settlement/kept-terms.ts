import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { termsBodyOf, termsHashOf, type TermsBody, type TermsKind } from '../../sdk';
import { CliError, EXIT, home, writeFileAtomic } from '../common';
import { payOwed, type Owed, type Payment, type PayOptions } from './pay';

/**
 * The terms this party signed, kept where it signed them ($TUSK_HOME/terms/<party>/<kind>-<id>.json):
 * its `pay` commands pay only what these say, whatever the operator's status asks for.
 */
const keptPath = (homeDir: string, partyId: string, kind: TermsKind, id: string) =>
  join(homeDir, 'terms', partyId.replace(/[^\w-]/g, '_'), `${kind}-${id.replace(/[^\w.-]/g, '_')}.json`);

/** Beside the body: the hash that names the whole signed envelope, as release statements name it. */
const hashPath = (homeDir: string, partyId: string, kind: TermsKind, id: string) =>
  keptPath(homeDir, partyId, kind, id).replace(/\.json$/, '.terms-hash');

/**
 * The whole signed envelope, for the web console to import (api/console/assets/terms-import.js): it
 * verifies the signature and the hash itself, so a deal signed here can be followed there.
 */
const signedPath = (homeDir: string, partyId: string, kind: TermsKind, id: string) =>
  keptPath(homeDir, partyId, kind, id).replace(/\.json$/, '.signed.json');

/** The groups a private selection chose, in order: only the buyer knows them, so only its home keeps them. */
const selectionsPath = (homeDir: string, partyId: string, id: string) =>
  keptPath(homeDir, partyId, 'cohort_query', id).replace(/\.json$/, '.selections.json');

export async function keepSelections(
  homeFlag: string | undefined,
  partyId: string,
  id: string,
  groups: string[],
) {
  await writeFileAtomic(selectionsPath(home(homeFlag), partyId, id), `${JSON.stringify(groups)}\n`);
}

/** The selected groups kept when the deal was bought here, if it was. */
export async function keptSelections(
  homeFlag: string | undefined,
  partyId: string,
  id: string,
): Promise<string[] | undefined> {
  const text = await readFile(selectionsPath(home(homeFlag), partyId, id), 'utf8').catch(() => undefined);
  const groups: unknown = text === undefined ? undefined : JSON.parse(text);
  return Array.isArray(groups) && groups.every((g) => typeof g === 'string') ? groups : undefined;
}

/** Keeps what this party signs, and the hash its sellers' release statements must name. */
export async function keepSignedTerms(
  homeFlag: string | undefined,
  signer: { partyId: string; publicKey: string },
  kind: TermsKind,
  id: string,
  signed: TermsBody & { termsSignature: string },
): Promise<void> {
  const body = withoutSignature(signed);
  const termsHash = termsHashOf({
    kind,
    signer: signer.partyId,
    publicKey: signer.publicKey,
    body: termsBodyOf(body),
    signature: signed.termsSignature,
  });
  const homeDir = home(homeFlag);
  await writeFileAtomic(hashPath(homeDir, signer.partyId, kind, id), `${termsHash}\n`);
  await writeFileAtomic(keptPath(homeDir, signer.partyId, kind, id), `${JSON.stringify(body, null, 2)}\n`);
  const envelope = {
    type: 'tusk.kept-terms/v1',
    kind,
    id,
    signer: signer.partyId,
    publicKey: signer.publicKey,
    request: signed,
    termsHash,
  };
  await writeFileAtomic(
    signedPath(homeDir, signer.partyId, kind, id),
    `${JSON.stringify(envelope, null, 2)}\n`,
  );
}

/**
 * The hash of the terms this party signed for `id`, kept when it signed them; refuses (exit 1) when
 * none were signed here: an answer is accepted only for terms its buyer can name.
 */
export async function readKeptTermsHash(
  homeFlag: string | undefined,
  partyId: string,
  kind: TermsKind,
  id: string,
): Promise<string> {
  const path = hashPath(home(homeFlag), partyId, kind, id);
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined)
    throw new CliError(
      `no ${kind} terms signed here for ${id} (${path}): tusk accepts only answers to terms you signed from this home`,
      EXIT.refused,
    );
  return text.trim();
}

export async function readSignedTerms(
  homeFlag: string | undefined,
  partyId: string,
  kind: TermsKind,
  id: string,
): Promise<TermsBody> {
  const path = keptPath(home(homeFlag), partyId, kind, id);
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined)
    throw new CliError(
      `no ${kind} terms signed here for ${id} (${path}): tusk pays only what you signed`,
      EXIT.refused,
    );
  return JSON.parse(text) as TermsBody;
}

/** What the signed terms say each payment may be, or why a payment is not one of them. */
function signedAmount(kind: TermsKind, terms: TermsBody, payment: Payment): string | { refused: string } {
  switch (kind) {
    case 'cohort_query':
      return String(terms.price);
    case 'grant':
      return String(terms.total);
    case 'multi_seller': {
      const sellers = (terms.sellers ?? []) as { sellerId: string; price?: string }[];
      const share = sellers.find((s) => s.sellerId === payment.sellerId);
      return share?.price ?? { refused: `you signed no share for ${payment.sellerId ?? payment.what}` };
    }
    case 'subscription': {
      const periods = Number(terms.periods);
      if (payment.period === undefined || !(payment.period <= periods))
        return { refused: `${payment.what} is past the ${periods} periods you signed` };
      return String(terms.pricePerPeriod);
    }
  }
}

/**
 * Refuses (exit 1) when the status asks for anything the payer's own signed terms do not say: another
 * amount, a share it did not sign, a period past the signed count.
 */
export function checkOwedAgainstTerms(owed: Owed, kind: TermsKind, terms: TermsBody): void {
  if (owed.state !== 'owed') return;
  for (const payment of owed.payments) {
    const signed = signedAmount(kind, terms, payment);
    if (typeof signed !== 'string') throw new CliError(`refused to pay: ${signed.refused}`, EXIT.refused);
    if (payment.amount !== signed)
      throw new CliError(
        `refused to pay: ${payment.what} asks ${payment.amount}; you signed ${signed}`,
        EXIT.refused,
      );
  }
}

/** Pays what is owed, once it is checked against the terms this party kept when it signed them. */
export async function payAsSigned(
  owed: Owed,
  options: PayOptions & { home?: string },
  partyId: string,
  kind: TermsKind,
  id: string,
): Promise<void> {
  if (owed.state === 'owed')
    checkOwedAgainstTerms(owed, kind, await readSignedTerms(options.home, partyId, kind, id));
  await payOwed(owed, options);
}

/** The signed body as kept: the request without its signature. */
export function withoutSignature<B extends { termsSignature: string }>(signed: B): Omit<B, 'termsSignature'> {
  const { termsSignature: _signature, ...body } = signed;
  return body;
}
