import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { signedBundle, type SignedBundle } from '../../audit/bundle';
import { formatReport } from '../../audit/verify/report';
import { verifyBundle } from '../../audit/verify/verify-bundle';
import type { TuskClient } from '../../lib/tusk-client';
import { readPrivacyEntries, type PrivacyEntries } from '../../audit/privacy-entries';
import { verdictChargesOf } from '../../audit/verify/verdict-charges';
import { releasesOf } from '../../audit/verify/privacy-check';
import { CliError } from '../common';
import { keysForAudit } from './auditor-keys';
import { lookupsForAudit } from './log-lookups';
import { onNode, operatorLogView } from './anchor-commands';
import {
  call,
  clientOf,
  isFile,
  refuseMissingFile,
  operatorKeyOf,
  print,
  withCommonOptions,
  subjectArg,
  type AuditOptions,
} from './context';
import { subjectPath } from '../../audit/subject';
import { exportDealBundle } from '../../lib/signed-actions';

/** `--disclosure <id>`: an auditor's export of a deal's bundle under that approved disclosure, signed. */
interface ExportFlags {
  disclosure?: string;
}

async function fetchBundle(target: string, options: AuditOptions & ExportFlags): Promise<SignedBundle> {
  const subject = subjectArg(target);
  const client = await clientOf(options);
  const { disclosure } = options;
  if (disclosure !== undefined && subject.kind !== 'deal')
    throw new CliError("--disclosure exports a deal's bundle: give a deal id", 2);
  const fetched =
    disclosure !== undefined && subject.kind === 'deal'
      ? () => exportDealBundle<unknown>(client, subject.dealId, disclosure)
      : () => client.get<unknown>(subjectPath(subject, 'audit-bundle'));
  return signedBundle.parse(await call(fetched));
}

async function loadBundle(target: string, options: AuditOptions & ExportFlags): Promise<SignedBundle> {
  refuseMissingFile(target);
  if (!isFile(target)) return fetchBundle(target, options);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(target, 'utf8'));
  } catch (error) {
    throw new CliError(`${target} is not JSON: ${(error as Error).message}`, 1);
  }
  const parsed = signedBundle.safeParse(json);
  if (!parsed.success)
    throw new CliError(`${target} is not a Tusk audit bundle:\n${z.prettifyError(parsed.error)}`, 1);
  return parsed.data;
}

type PrivacyFlags = { privacyLedger?: string; policies?: string };

/**
 * The seller's privacy-ledger entries for the bundle's releases, read here, on the seller's machine,
 * from its own perimeter's ledger: never fetched from the operator (see audit/privacy-entries.ts).
 */
async function sellerEntries(bundle: SignedBundle, flags: PrivacyFlags): Promise<PrivacyEntries | undefined> {
  if (!flags.privacyLedger) return undefined;
  if (!flags.policies)
    throw new CliError(
      '--privacy-ledger needs --policies <dir>: the dataset policy the budgets come from',
      2,
    );
  try {
    return await readPrivacyEntries(flags.privacyLedger, flags.policies, [
      ...releasesOf(bundle).map((r) => r.id),
      ...verdictChargesOf(bundle).map((v) => v.chargeId),
    ]);
  } catch (error) {
    throw new CliError(`cannot read the privacy ledger: ${(error as Error).message}`, 1);
  }
}

type VerifyFlags = AuditOptions &
  PrivacyFlags & {
    resultKey?: string;
    ledger?: string;
    aztecNode?: string;
    receiptContract?: string;
    workflows?: string;
    perimeterKeys?: string;
    keys?: string;
    head?: string;
  };

/** The replay worker's state changes are not the auditor's business: warnings and errors only. */
async function quietRuntime(): Promise<void> {
  // Loaded by verify alone: the other commands would pay for the SDK's native bridge at every start.
  const { DefaultLogger, Runtime } = await import('@temporalio/worker');
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already installed in this process: keep it.
  }
}

/** With a node to check against: the operator's anchors and log (when its API answers), and the receipt contract. */
async function chainContext(options: VerifyFlags, client: TuskClient | undefined, key: string) {
  const log = client ? await operatorLogView(client, key).catch(() => undefined) : undefined;
  const receiptContract = options.receiptContract ?? log?.anchors.at(-1)?.contract;
  return { ...(log ? { log } : {}), ...(receiptContract ? { receiptContract } : {}) };
}

async function verify(target: string, options: VerifyFlags): Promise<void> {
  await quietRuntime();
  const bundle = await loadBundle(target, options);
  const client =
    isFile(target) && !options.as && !process.env.TUSK_PARTY
      ? undefined
      : await clientOf(options).catch(() => undefined);
  const { key, pinned } = await operatorKeyOf(options, client);
  const entries = await sellerEntries(bundle, options);
  const chain = options.aztecNode ? await chainContext(options, client, key) : {};
  const held = await keysForAudit(bundle, options, { client, operatorKey: key, pinned });
  const logged = await lookupsForAudit(bundle, options, { client, operatorKey: key, pinned });
  const run = () =>
    verifyBundle(bundle, {
      ...chain,
      operatorKey: key,
      ...(entries ? { privacyEntries: entries } : {}),
      ...(options.resultKey ? { resultKey: options.resultKey } : {}),
      ...(options.ledger ? { ledgerFile: options.ledger } : {}),
      ...(options.aztecNode ? { aztecNodeUrl: options.aztecNode } : {}),
      ...(options.workflows ? { workflowsPath: options.workflows } : {}),
      ...(held.keys ? { keys: held.keys } : {}),
      ...(logged.lookups ? { logLookups: logged.lookups } : {}),
    });
  const report = options.aztecNode ? await onNode(options.aztecNode, run) : await run();
  const note =
    (pinned ? '' : `\nnote: the operator key was taken from the API (${key}); pin it with --operator-key`) +
    (held.note ? `\nnote: ${held.note}` : '') +
    (logged.note ? `\nnote: ${logged.note}` : '');
  print(options, report, formatReport(report) + note);
  if (!report.ok) process.exitCode = 1;
}

export function registerBundleCommands(program: Command): void {
  const audit = program
    .command('audit')
    .description(
      'export and verify the audit bundle of a deal, grant:<id>, subscription:<id>/period-<n> or disclosure:<id>',
    );
  withCommonOptions(
    audit
      .command('bundle <subject>')
      .description(
        'fetch an audit bundle, signed by the operator: a deal id, grant:<id>, subscription:<id>/period-<n>, disclosure:<id>',
      ),
  )
    .requiredOption('--out <file>', 'where to save it')
    .option('--privacy-ledger <file>', "a seller's own copy: attach its perimeter's privacy-ledger entries")
    .option('--policies <dir>', "the seller's policies directory (its signed dataset policy)")
    .option(
      '--disclosure <disclosureId>',
      "an auditor: export the deal's bundle under this approved disclosure (signed, recorded in its trail)",
    )
    .action(async (subject: string, options: AuditOptions & PrivacyFlags & ExportFlags & { out: string }) => {
      const fetched = await fetchBundle(subject, options);
      const entries = await sellerEntries(fetched, options);
      const bundle = entries ? { ...fetched, privacyEntries: entries } : fetched;
      await writeFile(options.out, `${JSON.stringify(bundle)}\n`);
      print(
        options,
        { out: options.out, runs: bundle.body.runs.length },
        `wrote ${options.out} (${bundle.body.runs.length} recorded runs)`,
      );
    });
  withCommonOptions(
    audit
      .command('verify <bundleFileOrSubject>')
      .description('replay every history with the pinned workflow code and check the deal end to end'),
  )
    .option(
      '--result-key <pem>',
      "the buyer's X25519 result key: open the sealed result and check its commitment",
    )
    .option('--ledger <file>', 'a copy of the local ledger to check the receipt against')
    .option(
      '--aztec-node <url>',
      'an Aztec node: check the settlement transactions, the receipt mint and the log anchors on it',
    )
    .option('--receipt-contract <address>', 'the receipt NFT contract (default: the one the anchors name)')
    .option(
      '--privacy-ledger <file>',
      "the seller's perimeter ledger: recompute the privacy charges and budget",
    )
    .option('--policies <dir>', "the seller's policies directory (its signed dataset policy)")
    .option('--workflows <path>', 'replay with this workflow code instead of this checkout’s')
    .option(
      '--keys <file>',
      'keys you pin (JSON: { "parties": { id: key }, "perimeters": { seller id: key } }); with --as, others come from the log',
    )
    .option(
      '--perimeter-keys <file>',
      "sellers' perimeter keys you pin (JSON: seller id → key): check each release statement",
    )
    .option(
      '--head <file>',
      "a log head you saved (tusk log head --save): the log's release and extension answers must extend it",
    )
    .action(verify);
}
