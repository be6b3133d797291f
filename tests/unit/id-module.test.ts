import { describe, expect, it } from 'vitest';
import {
  balanceLookupWorkflowId,
  budgetLookupWorkflowId,
  disclosureWorkflowId,
  disputeWorkflowId,
  grantWorkflowId,
  logAnchorWorkflowId,
  subscriptionWorkflowId,
  templateReviewWorkflowId,
} from '../../lib/ids/workflow-ids';
import {
  dealEscrowId,
  disputeEscrowId,
  grantEscrowId,
  parseEscrowId,
  periodEscrowId,
  shareEscrowId,
} from '../../lib/ids/escrow-ids';
import {
  milestoneChargeId,
  parseSubscriptionRunId,
  subscriptionPeriodId,
  subscriptionRunId,
} from '../../lib/ids/run-ids';
import { blindedReceiptId } from '../../lib/ids/receipt-id';
import { anchorId } from '../../lib/ids/anchor-id';

// Ids are in running workflows' histories and on chain. Each expected string below is what the
// builder produced before the ids moved into lib/ids/: a change here breaks replay or receipts.
const nonce = '0123456789abcdef0123456789abcdef';
const root = 'ab'.repeat(32);

describe('the id module keeps every id byte-identical', () => {
  it('workflow ids', () => {
    expect(disputeWorkflowId('d-1')).toBe('d-1:dispute');
    expect(subscriptionWorkflowId('s-1')).toBe('subscription:s-1');
    expect(grantWorkflowId('g-1')).toBe('grant:g-1');
    expect(disclosureWorkflowId('x-1')).toBe('disclosure:x-1');
    expect(balanceLookupWorkflowId('n1')).toBe('balance:n1');
    expect(budgetLookupWorkflowId('n2')).toBe('budget:n2');
    expect(logAnchorWorkflowId(7, root)).toBe(`log-anchor:7:${root}`);
    expect(templateReviewWorkflowId('t-1')).toBe('template-review:t-1');
  });

  it('escrow ids, percent-encoded, with and without a nonce', () => {
    expect(dealEscrowId('m1.seller-a', nonce)).toBe(`deal:m1.seller-a:${nonce}`);
    expect(dealEscrowId('d:1')).toBe('deal:d%3A1');
    expect(shareEscrowId('d 1', 'seller/a', nonce)).toBe(`share:d%201:seller%2Fa:${nonce}`);
    expect(periodEscrowId('s-1', 3, nonce)).toBe(`period:s-1:3:${nonce}`);
    expect(grantEscrowId('g-1', nonce)).toBe(`grant:g-1:${nonce}`);
    expect(disputeEscrowId('d-1', nonce)).toBe(`dispute:d-1:${nonce}`);
    expect(parseEscrowId(`share:d%201:seller%2Fa:${nonce}`)).toEqual({
      kind: 'share',
      dealId: 'd 1',
      sellerId: 'seller/a',
      nonce,
    });
  });

  it('run and charge ids', () => {
    expect(subscriptionPeriodId('s-1', 4)).toBe('s-1/period-4');
    expect(subscriptionRunId('s-1', 4, 2)).toBe('s-1/period-4/query-2');
    expect(parseSubscriptionRunId('s-1/period-4/query-2', 's-1')).toEqual({ period: 4, queryIndex: 2 });
    expect(milestoneChargeId('g-1', 'm-2')).toBe('milestone:g-1/m-2');
  });

  it('receipt and anchor ids', () => {
    expect(blindedReceiptId(`sha256:${'cd'.repeat(32)}`, Buffer.alloc(16, 7))).toBe(
      '0x009b4a8687e04c4fb856e44b8597216fe95095c1a777f9a5b793f0aedb961076',
    );
    expect(anchorId(7, root)).toBe('0x00bc2a256a1193e3cd26cb82f84f6472ad9ad9fa36c38439149dbcd76391c52c');
  });
});
