import { createHmac } from 'node:crypto';
import type { SearchAttributePair } from '@temporalio/common';
import { lifecycleSearchAttributes, type LifecycleKind } from '../../lib/search-attributes';

/**
 * Parties as Temporal's visibility holds them: HMAC-SHA256 tokens under a key derived from the
 * history keys, so a party's deals can be listed while the search attributes, which Temporal keeps
 * in clear, name nobody to whoever lacks the keys.
 */
export class PartySearch {
  constructor(private readonly key: Buffer) {}

  token(partyId: string): string {
    return `p.${createHmac('sha256', this.key).update(partyId).digest('base64url').slice(0, 32)}`;
  }

  tokens(partyIds: readonly string[]): string[] {
    return partyIds.map((id) => this.token(id));
  }

  attributes(kind: LifecycleKind, partyIds: readonly string[]): SearchAttributePair[] {
    return lifecycleSearchAttributes(kind, this.tokens(partyIds));
  }
}
