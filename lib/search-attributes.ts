import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

/** The kinds of lifecycle a party can list (GET /deals). */
export const LIFECYCLE_KINDS = [
  'deal',
  'multi_seller',
  'subscription',
  'grant',
  'dispute',
  'disclosure',
] as const;
export type LifecycleKind = (typeof LIFECYCLE_KINDS)[number];

/**
 * Custom search attributes on every lifecycle workflow, so Temporal's visibility can list a party's
 * deals: the kind, and a token for each party that may see it whole. Temporal keeps search
 * attributes in clear (the codec does not encrypt them), so parties appear only as keyed tokens
 * (api/listing/party-search.ts): whoever runs Temporal without the history keys reads no party id.
 */
export const TUSK_KIND = defineSearchAttributeKey('TuskKind', SearchAttributeType.KEYWORD);
export const TUSK_PARTIES = defineSearchAttributeKey('TuskParties', SearchAttributeType.KEYWORD_LIST);

/** Name and type of each, as the Temporal dev server's `--search-attribute NAME=Type` takes them. */
export const SEARCH_ATTRIBUTES = { TuskKind: 'Keyword', TuskParties: 'KeywordList' } as const;

/** What a lifecycle workflow is started with. */
export function lifecycleSearchAttributes(
  kind: LifecycleKind,
  partyTokens: readonly string[],
): SearchAttributePair[] {
  return [
    { key: TUSK_KIND, value: kind },
    { key: TUSK_PARTIES, value: [...new Set(partyTokens)] },
  ];
}
