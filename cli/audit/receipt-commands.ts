import { z } from 'zod';
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { partyLabels, receiptPdf } from '../../audit/receipt-pdf';
import {
  checkReceipt,
  receiptDigest,
  signedReceipt,
  templateOf,
  type SignedReceipt,
} from '../../audit/receipt';
import { checkInclusion, type InclusionProofResponse } from '../../lib/transparency/tree-head';
import { CliError } from '../common';
import {
  call,
  clientOf,
  isFile,
  operatorKeyOf,
  print,
  withCommonOptions,
  type AuditOptions,
  subjectArg,
  refuseMissingFile,
} from './context';
import { subjectPath } from '../../audit/subject';

/** A receipt from a file (as saved by `receipt show --out`) or from the API by deal id. */
async function loadReceipt(target: string, options: AuditOptions): Promise<SignedReceipt> {
  refuseMissingFile(target);
  if (isFile(target)) {
    const parsed = signedReceipt.safeParse(JSON.parse(await readFile(target, 'utf8')));
    if (!parsed.success)
      throw new CliError(`${target} is not a Tusk receipt:\n${z.prettifyError(parsed.error)}`, 1);
    return parsed.data;
  }
  const client = await clientOf(options);
  const raw = await call(() => client.get<unknown>(subjectPath(subjectArg(target), 'receipt')));
  return signedReceipt.parse(raw);
}

/** The parties in the words of the receipt's kind (a grant's sponsor and grantee, not buyer and seller). */
function describeParties(
  kind: SignedReceipt['body']['kind'],
  parties: { buyer: string; sellers: string[] },
): string {
  const { payer, payee } = partyLabels(kind, parties.sellers.length);
  return `  parties      ${payer.toLowerCase()} ${parties.buyer}; ${payee.toLowerCase()} ${parties.sellers.join(', ')}`;
}

export function describeReceipt(receipt: SignedReceipt): string {
  const { body, openings } = receipt;
  const template = templateOf(receipt);
  const lines = [
    `receipt of ${body.kind === 'grant' ? '' : 'deal '}${body.dealId} (${body.kind}, ${body.outcome}), issued ${body.issuedAt}`,
    template
      ? `  template     ${template.templateId} ${template.templateHash}`
      : body.sealed.template
        ? `  template     sealed ${body.sealed.template}`
        : undefined,
    body.resultCommitment ? `  result       ${body.resultCommitment}` : undefined,
    openings?.parties
      ? describeParties(body.kind, openings.parties.value)
      : `  parties      sealed ${body.sealed.parties}`,
  ];
  const amounts = openings?.amounts?.value;
  if (amounts) {
    lines.push(`  paid in      ${amounts.deposits}`);
    for (const p of amounts.payouts)
      lines.push(`  paid out     ${p.amount} to ${p.to}${p.part ? ` (${p.part})` : ''}`);
    lines.push(`  fee          ${amounts.fee} (${amounts.feeBps} bps)`);
    for (const r of amounts.refunds) lines.push(`  refunded     ${r.amount} to ${r.to}`);
  } else lines.push(`  amounts      sealed ${body.sealed.amounts}`);
  lines.push(
    `  settlement   ${body.settlement.adapter}: ${body.settlement.transactions.map((t) => t.action).join(', ')}`,
  );
  return lines.filter((line) => line !== undefined).join('\n');
}

async function verifyReceipt(target: string, options: AuditOptions & { offline?: boolean }): Promise<void> {
  const receipt = await loadReceipt(target, options);
  const client = options.offline ? undefined : await clientOf(options).catch(() => undefined);
  const { key, pinned } = await operatorKeyOf(options, client);
  const checks: { check: string; ok: boolean; detail?: string }[] = [];
  const signature = checkReceipt(receipt, key);
  checks.push({
    check: 'signature',
    ok: signature.ok,
    ...(signature.ok ? {} : { detail: signature.reason }),
  });
  if (client) {
    const entry = {
      type: 'tusk.log-entry/v1' as const,
      kind: 'receipt' as const,
      dealId: receipt.body.dealId,
      digest: receiptDigest(receipt),
    };
    const proof = await call(() =>
      client.get<InclusionProofResponse>(
        `/log/proof/inclusion?dealId=${encodeURIComponent(receipt.body.dealId)}&kind=receipt`,
      ),
    ).catch((error: Error) => error);
    const inclusion =
      proof instanceof Error
        ? { ok: false as const, reason: proof.message }
        : checkInclusion(entry, proof, key);
    checks.push({
      check: 'in the transparency log',
      ok: inclusion.ok,
      ...(inclusion.ok ? {} : { detail: inclusion.reason }),
    });
  }
  const ok = checks.every((c) => c.ok);
  const text = [
    ...checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.check}${c.detail ? `: ${c.detail}` : ''}`),
    pinned ? undefined : `note: the operator key was taken from the API (${key}); pin it with --operator-key`,
  ]
    .filter(Boolean)
    .join('\n');
  print(options, { dealId: receipt.body.dealId, ok, operatorKey: key, pinned, checks }, text);
  if (!ok) process.exitCode = 1;
}

export function registerReceiptCommands(program: Command): void {
  const receipt = program.command('receipt').description("a finished deal's receipt, signed by the operator");
  withCommonOptions(
    receipt
      .command('show <dealId>')
      .description('fetch and print a receipt (a deal id, grant:<id> or subscription:<id>/period-<n>)'),
  )
    .option('--out <file>', 'also save the signed receipt (JSON)')
    .action(async (dealId: string, options: AuditOptions & { out?: string }) => {
      const value = await loadReceipt(dealId, options);
      if (options.out) await writeFile(options.out, `${JSON.stringify(value, null, 2)}\n`);
      print(options, value, describeReceipt(value));
    });
  withCommonOptions(
    receipt
      .command('verify <fileOrDealId>')
      .description("check the operator's signature, the openings and the log"),
  )
    .option('--offline', 'check the file alone: no log inclusion')
    .action(verifyReceipt);
  withCommonOptions(
    receipt.command('pdf <fileOrDealId>').description('render the receipt as a PDF for accounting'),
  )
    .requiredOption('--out <file>', 'where to write the PDF')
    .action(async (target: string, options: AuditOptions & { out: string }) => {
      const value = await loadReceipt(target, options);
      await writeFile(options.out, await receiptPdf(value));
      print(options, { pdf: options.out }, `wrote ${options.out}`);
    });
}
