import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../lib/search-attributes';

const INDEXED_TYPE = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KeywordList: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
} as const;

/**
 * Registers Tusk's search attributes in the namespace when they are missing (the dev server started
 * by stack/launcher.ts has them already; a cluster gets them here). Returns why not, if it cannot.
 */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<string | undefined> {
  try {
    const operator = client.connection.operatorService;
    const { customAttributes } = await operator.listSearchAttributes({ namespace });
    const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !(name in (customAttributes ?? {})));
    if (missing.length > 0)
      await operator.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_TYPE[type]])),
      });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
