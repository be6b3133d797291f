/**
 * A lifecycle's page in the Temporal Web UI: the namespace's workflow list filtered to its workflow id
 * (every run of it, a subscription's continued runs included). It names the workflow only; the codec
 * endpoint (and its token) is set in the UI itself, never carried in a link.
 */
export function temporalUiLink(uiUrl: string, namespace: string, workflowId: string): string {
  const query = `WorkflowId="${workflowId}"`;
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}
