// @ts-check
/**
 * Each listed kind's workflow id from its API id: lib/ids/workflow-ids.ts's, held equal to it by
 * tests/unit/console-temporal-ui.test.ts.
 * @type {Record<string, (id: string) => string>}
 */
export const WORKFLOW_ID_OF = {
  deal: (id) => id,
  multi_seller: (id) => id,
  subscription: (id) => `subscription:${id}`,
  grant: (id) => `grant:${id}`,
  dispute: (id) => `${id}:dispute`,
  disclosure: (id) => `disclosure:${id}`,
};

/**
 * lib/temporal-ui.ts's link: the namespace's workflow list filtered to one workflow id. It names the
 * workflow only; the codec endpoint and its token are set in the UI, never carried in a link.
 * @param {string} uiUrl @param {string} namespace @param {string} workflowId
 */
export function temporalUiLink(uiUrl, namespace, workflowId) {
  const query = `WorkflowId="${workflowId}"`;
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}
