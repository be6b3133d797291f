import PDFDocument from 'pdfkit';
import { templateOf, type SignedReceipt } from './receipt';

const KIND_NAMES: Record<SignedReceipt['body']['kind'], string> = {
  cohort_query: 'Cohort query',
  multi_seller: 'Multi-seller query',
  subscription_period: 'Subscription period',
  grant: 'Research grant',
};

const ACTION_NAMES: Record<string, string> = {
  lockEscrow: 'Payment locked in escrow',
  releaseEscrow: 'Seller paid, fee taken',
  refundEscrow: 'Buyer refunded',
  releasePart: 'Part released',
  refundRemainder: 'Remainder refunded',
  recordReceipt: 'Receipt recorded',
};

const MARGIN = 56;
const LABEL_WIDTH = 150;

/**
 * The receipt as a PDF for accounting: what the holder's copy shows (parties and amounts only when it
 * carries their openings, as the redaction rules give them), the hashes that tie it to the deal, and
 * the operator's signature with how to check it. The signed JSON stays the authoritative document.
 */
export function receiptPdf(receipt: SignedReceipt): Promise<Buffer> {
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
      .fontSize(mono ? 8.5 : 9.5)
      .fillColor('black')
      .text(value, MARGIN + LABEL_WIDTH, y, { width: width - LABEL_WIDTH });
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
    row('Buyer / funder', openings.parties.value.buyer);
    row(
      openings.parties.value.sellers.length > 1 ? 'Sellers' : 'Seller',
      openings.parties.value.sellers.join(', '),
    );
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
  if (body.chainReceiptId) row('Receipt on chain', body.chainReceiptId, true);
  row('Settled on', body.settlement.adapter === 'aztec' ? 'Aztec' : 'local development ledger');
  for (const tx of body.settlement.transactions)
    row(ACTION_NAMES[tx.action] ?? tx.action, tx.txHash ?? '(no chain transaction)', Boolean(tx.txHash));
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
