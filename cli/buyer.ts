import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openResult, type ResultPayload } from '../lib/sealed-result';
import { generateEd25519KeyPair } from '../lib/ed25519';
import { generateX25519KeyPair } from '../lib/sealed-box';
import { TuskClient } from '../lib/tusk-client';
import { publicKeyFromPem } from '../lib/x25519-public';
import type { DealStatus } from '../workflows/deal/state';
import type { BudgetView } from '../api/budgets/schemas';
import { createHeKeys } from './buyer-he';
import { apiUrl, CliError, home, keyPaths, readText, required, writeFileAtomic } from './common';
import { formatTable } from './format-table';

export const buyerUsage = `tusk buyer keygen <buyerId>                          request-signing (Ed25519) and result (X25519) keys
tusk buyer keygen <buyerId> --he                     BFV keys (N=4096, t=1032193, 128-bit): public and Galois keys
                                                      uploaded, the secret key kept in $TUSK_HOME/keys/<buyerId>.bfv.json
tusk buyer templates                                  signed templates for sale
tusk buyer deal <templateId> --param k=v ... --jurisdiction CC --purpose P --accept CLASS ... [--deal-id ID] [--wait]
tusk buyer status <dealId>
tusk buyer confirm <dealId>                           accept the result: the seller is paid
tusk buyer result <dealId>                            fetch, decrypt, verify and print the table
tusk buyer budget --seller S --dataset D [--json]     privacy budget spent and left on a dataset: yours, and all buyers'
  common: --as <buyerId> (or TUSK_PARTY), --api URL (or TUSK_API_URL), --home DIR (or TUSK_HOME)`;

export function parseParam(pair: string): [string, string | number] {
  const at = pair.indexOf('=');
  if (at < 1) throw new CliError(`--param takes name=value, got ${JSON.stringify(pair)}`);
  const value = pair.slice(at + 1);
  return [pair.slice(0, at), /^-?\d+$/.test(value) ? Number(value) : value];
}

export function describePrivacy(privacy: ResultPayload['privacy']): string {
  const scales = Object.entries(privacy.noiseScales)
    .map(([column, scale]) => `${column} ±${scale}`)
    .join(', ');
  const groups =
    privacy.groupRelease.kind === 'declared_domain'
      ? `every group of the declared domain; numbers withheld where the noisy count is under ${privacy.minCohortSize}`
      : `groups whose noisy count reached ${Math.max(privacy.groupRelease.threshold, privacy.minCohortSize)} (private partition selection, δ ${privacy.groupRelease.delta})`;
  return [
    groups,
    `${privacy.mechanism.replace('_', ' ')} noise (scale ${scales}), ε spent ${privacy.epsilonSpent}${privacy.delta > 0 ? `, δ ${privacy.delta}` : ''}`,
  ].join('\n');
}

export function describeBudget(view: BudgetView): string {
  const row = (who: string, f: NonNullable<BudgetView['buyer']>) => [
    who,
    String(f.spent.epsilon),
    String(f.left.epsilon),
    String(f.budget.epsilon),
    String(f.spent.delta),
    String(f.budget.delta),
    String(f.spent.rho),
  ];
  return [
    `${view.sellerId}/${view.dataset}: privacy budget per ${view.windowDays} days (since ${new Date(view.windowStart).toISOString()})`,
    formatTable(
      ['', 'ε spent', 'ε left', 'ε budget', 'δ spent', 'δ budget', 'ρ spent'],
      [...(view.buyer ? [row('you', view.buyer)] : []), row('all buyers', view.total)],
    ),
  ].join('\n');
}

export async function openDealResult(client: TuskClient, resultKeyPem: string, dealId: string) {
  const sealed = await client.get<{ ciphertext: string; commitment: string }>(
    `/deals/${encodeURIComponent(dealId)}/result`,
  );
  return openResult(Buffer.from(sealed.ciphertext, 'base64'), resultKeyPem, dealId, sealed.commitment);
}

/** On a chain, the buyer pays the escrow itself: the deal waits for that (the local ledger does not). */
const awaitsPayment = (status: DealStatus) =>
  status.stage === 'quoted' && status.escrow !== undefined && !status.escrow.address.startsWith('ledger:');

export async function waitForStage(
  client: TuskClient,
  dealId: string,
  done: (status: DealStatus) => boolean,
  timeoutMs = 600_000,
  intervalMs = 200,
): Promise<DealStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await client.get<DealStatus>(`/deals/${encodeURIComponent(dealId)}`);
    if (done(status)) return status;
    if (Date.now() > deadline) throw new CliError(`deal ${dealId} is still ${status.stage}`, 1);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function buyer(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      as: { type: 'string' },
      api: { type: 'string' },
      home: { type: 'string' },
      param: { type: 'string', multiple: true },
      'deal-id': { type: 'string' },
      jurisdiction: { type: 'string' },
      purpose: { type: 'string' },
      accept: { type: 'string', multiple: true },
      wait: { type: 'boolean' },
      he: { type: 'boolean' },
      seller: { type: 'string' },
      dataset: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const homeDir = home(values.home);
  if (command === 'keygen' && values.he) {
    const buyerId = required(positionals[0], 'buyer id: tusk buyer keygen <buyerId> --he');
    const client = new TuskClient(
      apiUrl(values.api),
      buyerId,
      await readText(
        keyPaths(homeDir, buyerId).signing,
        `signing key of ${buyerId} (run tusk buyer keygen ${buyerId} first)`,
      ),
    );
    console.log(`HE key (use it in deals): ${await createHeKeys(client, homeDir, buyerId)}`);
    return;
  }
  if (command === 'keygen') {
    const buyerId = required(positionals[0], 'buyer id: tusk buyer keygen <buyerId>');
    const paths = keyPaths(homeDir, buyerId);
    if (existsSync(paths.signing) || existsSync(paths.result))
      throw new CliError(`keys for ${buyerId} exist; not overwriting`);
    const signing = generateEd25519KeyPair();
    const result = generateX25519KeyPair();
    await writeFileAtomic(paths.signing, signing.privateKeyPem, 0o600);
    await writeFileAtomic(paths.result, result.privateKeyPem, 0o600);
    console.log(
      `request-signing public key (register it): ${signing.publicKey}\nresult public key (sent with deals): ${result.publicKey}`,
    );
    return;
  }
  const buyerId = required(values.as ?? process.env.TUSK_PARTY, '--as <buyerId>');
  const paths = keyPaths(homeDir, buyerId);
  const client = new TuskClient(
    apiUrl(values.api),
    buyerId,
    await readText(paths.signing, `signing key of ${buyerId}`),
  );
  const dealId = () => required(positionals[0], 'deal id');
  switch (command) {
    case 'templates': {
      const { templates } = await client.get<{
        templates: { id: string; seller: string; title: string; price: string; hash: string }[];
      }>('/templates');
      console.log(
        formatTable(
          ['id', 'seller', 'price', 'title', 'hash'],
          templates.map((t) => [t.id, t.seller, t.price, t.title, t.hash]),
        ),
      );
      return;
    }
    case 'deal': {
      const templateId = required(positionals[0], 'template id');
      const { templates } = await client.get<{ templates: { id: string; hash: string; price: string }[] }>(
        '/templates',
      );
      const chosen = templates.find((t) => t.id === templateId);
      if (!chosen) throw new CliError(`no template ${templateId} for sale`);
      // The buyer signs the terms; every perimeter checks that signature before it reserves anything.
      const status = await client.post<DealStatus>(
        '/deals',
        client.signed('cohort_query', {
          dealId: values['deal-id'] ?? randomUUID(),
          templateId,
          templateHash: chosen.hash,
          parameters: Object.fromEntries((values.param ?? []).map(parseParam)),
          price: chosen.price,
          buyerPublicKey: publicKeyFromPem(await readText(paths.result, `result key of ${buyerId}`)),
          compliance: {
            jurisdiction: required(values.jurisdiction, '--jurisdiction (e.g. US)'),
            purpose: required(values.purpose, '--purpose (e.g. research)'),
            acceptedDataClasses: values.accept ?? [],
          },
        }),
      );
      const final = values.wait
        ? await waitForStage(
            client,
            status.dealId,
            (s) =>
              awaitsPayment(s) ||
              (s.stage !== 'quoted' && s.stage !== 'escrow_locked' && s.stage !== 'query_running'),
          )
        : status;
      if (awaitsPayment(final)) {
        const escrow = final.escrow!.address;
        console.log(
          `deal ${final.dealId}: pay ${final.price} into its escrow ${escrow} from your own wallet\n` +
            `  (on the local network: npm run aztec -- pay 1 ${escrow} ${final.price}), then: tusk buyer status ${final.dealId}`,
        );
        return;
      }
      console.log(
        `deal ${final.dealId}: ${final.stage}${final.problem ? ` (${final.problem.code}: ${final.problem.reason})` : ''}`,
      );
      return;
    }
    case 'status':
      console.log(
        JSON.stringify(await client.get<DealStatus>(`/deals/${encodeURIComponent(dealId())}`), null, 2),
      );
      return;
    case 'confirm': {
      const status = await client.post<DealStatus>(`/deals/${encodeURIComponent(dealId())}/confirm`);
      console.log(`deal ${status.dealId}: ${status.stage}`);
      return;
    }
    case 'result': {
      const payload = await openDealResult(
        client,
        await readText(paths.result, `result key of ${buyerId}`),
        dealId(),
      );
      console.log(formatTable(payload.columns, payload.rows));
      console.log(`\n${describePrivacy(payload.privacy)}\ncommitment verified`);
      return;
    }
    case 'budget': {
      const seller = required(values.seller, '--seller <sellerId>');
      const dataset = required(values.dataset, '--dataset <name>');
      const view = await client.get<BudgetView>(
        `/budgets/${encodeURIComponent(seller)}/${encodeURIComponent(dataset)}`,
      );
      console.log(values.json ? JSON.stringify(view, null, 2) : describeBudget(view));
      return;
    }
    default:
      throw new CliError(buyerUsage);
  }
}
