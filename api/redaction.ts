import type { DealDispute, DealStatus } from '../workflows/deal/state';
import type { DisclosableField } from '../workflows/disclosure/state';

type HiddenKey = 'buyerId' | 'sellerId' | 'price';

/** A deal as a party without a right to its hidden fields sees it: no parties, no amount. */
export type VisibleDealStatus = Omit<DealStatus, HiddenKey | 'dispute'> &
  Partial<Pick<DealStatus, HiddenKey>> & {
    dispute?: Omit<DealDispute, 'openedBy'> & { openedBy?: string };
    hidden?: DisclosableField[];
  };

export function redactHiddenFields(status: DealStatus): VisibleDealStatus {
  const { buyerId: _buyer, sellerId: _seller, price: _price, dispute, ...rest } = status;
  const redacted: VisibleDealStatus = { ...rest, hidden: ['parties', 'amount'] };
  if (dispute) {
    const { openedBy: _openedBy, ...visible } = dispute;
    redacted.dispute = visible;
  }
  return redacted;
}

/** The hidden fields themselves: what an approved disclosure shows. */
export function hiddenFieldsOf(status: DealStatus, fields: DisclosableField[]) {
  return {
    ...(fields.includes('parties') ? { buyerId: status.buyerId, sellerId: status.sellerId } : {}),
    ...(fields.includes('amount') ? { price: status.price } : {}),
  };
}
