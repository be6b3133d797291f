import { describe, expect, it } from 'vitest';
import {
  disclosureWorkflowId,
  disputeWorkflowId,
  grantWorkflowId,
  subscriptionWorkflowId,
} from '../../lib/ids/workflow-ids';
import { LIFECYCLE_KINDS } from '../../lib/search-attributes';
import { temporalUiLink } from '../../lib/temporal-ui';

/** The console's plain ES module (no declaration file: the page has no build step). */
const CONSOLE_TEMPORAL_UI: string = '../../api/console/assets/temporal-ui.js';

interface ConsoleTemporalUi {
  WORKFLOW_ID_OF: Record<string, (id: string) => string>;
  temporalUiLink: (uiUrl: string, namespace: string, workflowId: string) => string;
}

describe("the console's links to the Temporal UI", () => {
  it('name the workflow id each listed kind runs under, as the server names it', async () => {
    const { WORKFLOW_ID_OF } = (await import(CONSOLE_TEMPORAL_UI)) as ConsoleTemporalUi;
    const server: Record<string, (id: string) => string> = {
      deal: (id) => id,
      multi_seller: (id) => id,
      subscription: subscriptionWorkflowId,
      grant: grantWorkflowId,
      dispute: disputeWorkflowId,
      disclosure: disclosureWorkflowId,
    };
    expect(Object.keys(WORKFLOW_ID_OF).sort()).toEqual([...LIFECYCLE_KINDS].sort());
    for (const kind of LIFECYCLE_KINDS) expect(WORKFLOW_ID_OF[kind]!('x-1'), kind).toBe(server[kind]!('x-1'));
  });

  it('are the links the CLI prints, with the id quoted and escaped into the query', async () => {
    const { temporalUiLink: inConsole } = (await import(CONSOLE_TEMPORAL_UI)) as ConsoleTemporalUi;
    for (const [ui, namespace, id] of [
      ['http://127.0.0.1:8233', 'default', 'deal-1'],
      ['https://ui.example/', 'tusk prod', 'subscription:s&1?x=#y'],
    ] as const) {
      const link = inConsole(ui, namespace, id);
      expect(link).toBe(temporalUiLink(ui, namespace, id));
      const parsed = new URL(link);
      expect(parsed.searchParams.get('query')).toBe(`WorkflowId="${id}"`);
      expect(parsed.pathname).toBe(`/namespaces/${encodeURIComponent(namespace)}/workflows`);
    }
  });
});
