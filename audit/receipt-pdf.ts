import { templateOf, type SignedReceipt } from './receipt';

const KIND_NAMES: Record<SignedReceipt['body']['kind'], string> = {
  cohort_query: 'Cohort query',
  multi_seller: 'Multi-seller query',
  subscription_period: 'Subscription period',
  grant: 'Research grant',
};

type ReceiptKind = SignedReceipt['body']['kind'];

/** Who pays and who is paid, in the words of each kind of deal (a grant has no buyer or seller). */
export function partyLabels(kind: ReceiptKind, payees: number): { payer: string; payee: string } {
  switch (kind) {
    case 'grant':
      return { payer: 'Sponsor', payee: payees > 1 ? 'Grantees' : 'Grantee' };
    case 'subscription_period':
      return { payer: 'Subscriber', payee: 'Seller' };
    default:
      return { payer: 'Buyer', payee: payees > 1 ? 'Sellers' : 'Seller' };
  }
}

/** What each settlement transaction did, named by the kind's parties. */
export function actionNames(kind: ReceiptKind): Record<string, string> {
  const { payer, payee } = partyLabels(kind, 1);
  return {
    lockEscrow: 'Payment locked in escrow',
    releaseEscrow: `${payee} paid, fee taken`,
    refundEscrow: `${payer} refunded`,
    releasePart: kind === 'grant' ? 'Tranche paid' : 'Part released',
    refundRemainder: 'Remainder refunded',
    recordReceipt: 'Receipt recorded',
  };
}

/**
 * Monospaced values (hashes, keys, signatures) at a size where a sha256 digest fits one line; a
 * longer one is cut into equal whole lines rather than wrapped wherever the page ends.
 */
const MONO_SIZE = 7.5;
const COURIER_ADVANCE = 0.6; // Courier's glyph width per point of size
export function monoLines(value: string, widthPoints: number): string {
  const perLine = Math.floor(widthPoints / (COURIER_ADVANCE * MONO_SIZE));
  if (value.length <= perLine || value.includes('\n')) return value;
  const lines = Math.ceil(value.length / perLine);
  const each = Math.ceil(value.length / lines);
  return Array.from({ length: lines }, (_, i) => value.slice(i * each, (i + 1) * each)).join('\n');
}

const MARGIN = 56;
const LABEL_WIDTH = 150;

/**
 * The receipt as a PDF for accounting: what the holder's copy shows (parties and amounts only when it
 * carries their openings, as the redaction rules give them), the hashes that tie it to the deal, and
 * the operator's signature with how to check it. The signed JSON stays the authoritative document.
 */
export async function receiptPdf(receipt: SignedReceipt): Promise<Buffer> {
  // Loaded when a PDF is asked for: every other command of the CLI would pay for its fonts and parsers.
  const { default: PDFDocument } = await import('pdfkit');
  const { body, signature, openings } = receipt;
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    info: { Title: `Receipt ${body.dealId}`, Author: 'Tusk operator', Subject: 'Deal receipt' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const width = doc.page.width - 2 * MARGIN;

  const heading = (text: string) => {
    doc.moveDown(0.8).font('Helvetica-Bold').fontSize(12).fillColor('#1f3a5f').text(text);
    const y = doc.y + 2;
    doc
      .moveTo(MARGIN, y)
      .lineTo(MARGIN + width, y)
      .lineWidth(0.5)
      .strokeColor('#9aa9bb')
      .stroke();
    doc.moveDown(0.4).fillColor('black');
  };
  const row = (label: string, value: string, mono = false) => {
    const y = doc.y;
    doc
      .font('Helvetica')
      .fontSize(9.5)
      .fillColor('#555')
      .text(label, MARGIN, y, { width: LABEL_WIDTH - 8 });
    const labelBottom = doc.y;
    doc
      .font(mono ? 'Courier' : 'Helvetica')
      .fontSize(mono ? MONO_SIZE : 9.5)
      .fillColor('black')
      .text(mono ? monoLines(value, width - LABEL_WIDTH) : value, MARGIN + LABEL_WIDTH, y, {
        width: width - LABEL_WIDTH,
      });
    doc.y = Math.max(doc.y, labelBottom) + 3;
    doc.x = MARGIN;
  };

  doc.font('Helvetica-Bold').fontSize(20).text('Receipt');
  doc
    .font('Helvetica')
    .fontSize(10)
    .fillColor('#555')
    .text(
      `${KIND_NAMES[body.kind]} deal, ${body.outcome} · issued ${body.issuedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`,
    );
  doc.fillColor('black');

  heading('Deal');
  row('Deal id', body.dealId, true);
  const template = templateOf(receipt);
  if (template) {
    row('Template', template.templateId);
    row('Template hash', template.templateHash, true);
  } else if (body.sealed.template) row('Template (sealed)', body.sealed.template, true);
  row('Started', body.times.startedAt);
  row('Settled', body.times.settledAt);

  heading('Parties');
  if (openings?.parties) {
    const labels = partyLabels(body.kind, openings.parties.value.sellers.length);
    row(labels.payer, openings.parties.value.buyer);
    row(labels.payee, openings.parties.value.sellers.join(', '));
  } else
    row(
      'Sealed',
      `${body.sealed.parties}\n(shown to the deal's parties, or through an approved disclosure)`,
      true,
    );

  heading('Amounts (smallest units of the settlement currency)');
  if (openings?.amounts) {
    const a = openings.amounts.value;
    row('Paid in (escrow)', a.deposits);
    for (const payout of a.payouts)
      row(`Paid to ${payout.to}${payout.part ? ` (${payout.part})` : ''}`, payout.amount);
    row(`Platform fee (${(a.feeBps / 100).toFixed(2)} %)`, a.fee);
    for (const refund of a.refunds) row(`Refunded to ${refund.to}`, refund.amount);
    if (a.refunds.length === 0) row('Refunded', '0');
  } else row('Sealed', body.sealed.amounts, true);

  heading('Result and settlement');
  if (body.resultCommitment) row('Result commitment', body.resultCommitment, true);
  const onChain = body.settlement.adapter === 'aztec';
  // The local ledger has no chain: an id "on chain" there would name nothing anyone can look up.
  if (onChain && body.chainReceiptId) row('Receipt on chain', body.chainReceiptId, true);
  row('Settled on', onChain ? 'Aztec' : 'local development ledger');
  const names = actionNames(body.kind);
  for (const tx of body.settlement.transactions)
    row(
      names[tx.action] ?? tx.action,
      tx.txHash ?? (onChain ? '(no chain transaction)' : '(a line of the local ledger)'),
      Boolean(tx.txHash),
    );
  for (const entry of body.settlement.ledgerEntries)
    row(`Ledger line ${entry.line} (${entry.kind})`, entry.digest, true);

  heading("Operator's signature");
  row('Algorithm', `${signature.algorithm} over the RFC 8785 canonical JSON of the receipt body`);
  row('Operator key', signature.publicKey, true);
  row('Signature', signature.value, true);
  doc
    .moveDown(0.6)
    .font('Helvetica-Oblique')
    .fontSize(8.5)
    .fillColor('#555')
    .text(
      'This page renders the signed JSON receipt, which is authoritative. Check it with ' +
        "`tusk receipt verify <file> --operator-key <key>`; its inclusion in the operator's transparency log with `tusk log prove`.",
      { width },
    );
  doc.end();
  return done;
}
