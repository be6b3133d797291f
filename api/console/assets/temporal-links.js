// @ts-check
import { explain } from './api.js';
import { el, message } from './dom.js';
import { temporalUiLink, WORKFLOW_ID_OF } from './temporal-ui.js';

/** Only http(s) links are made: a UI address of another scheme (javascript:) is shown, not linked. @param {string} url */
const isWebUrl = (url) => /^https?:$/.test(new URL(url, location.href).protocol);

/**
 * The operator's links to every lifecycle's history in the Temporal Web UI (GET /operator/temporal-ui
 * and GET /deals), with the codec endpoint the UI needs to show decoded payloads. The token is the
 * operator's secret: the page names where it goes, never holds it.
 * @param {import('./api.js').Client} client
 */
export async function temporalLinks(client) {
  const section = el('section', { id: 'temporal-ui' }, [el('h2', {}, ['Temporal UI'])]);
  try {
    const ui = await client.get('/operator/temporal-ui');
    const listed = await client.get('/deals?limit=100');
    const endpoint = `${location.origin}/codec/<TUSK_CODEC_TOKEN>`;
    section.append(
      el('p', { id: 'codec-endpoint' }, [
        'Codec endpoint for the UI (its Codec Server setting, or ',
        el('code', {}, ['--ui-codec-endpoint']),
        '): ',
        el('code', {}, [endpoint]),
        ui.codecTokenRoute
          ? ', with the token you hold.'
          : '. It is off: the API has no TUSK_CODEC_TOKEN, so the UI shows payloads encrypted.',
      ]),
    );
    const linkable = isWebUrl(ui.uiUrl);
    const rows = (listed.deals ?? [])
      .filter((/** @type {{ kind: string }} */ d) => d.kind in WORKFLOW_ID_OF)
      .map((/** @type {{ id: string, kind: string, stage: string }} */ d) => {
        const workflowId = WORKFLOW_ID_OF[d.kind]?.(d.id) ?? d.id;
        const href = temporalUiLink(ui.uiUrl, ui.namespace, workflowId);
        const link = linkable
          ? el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, [workflowId])
          : el('span', {}, [`${workflowId} (${href})`]);
        return el('tr', { 'data-workflow': workflowId }, [
          el('td', {}, [d.id]),
          el('td', {}, [d.kind]),
          el('td', {}, [d.stage]),
          el('td', {}, [link]),
        ]);
      });
    const head = el(
      'tr',
      {},
      ['Lifecycle', 'Kind', 'Stage', `Workflow in ${ui.uiUrl} (namespace ${ui.namespace})`].map((h) =>
        el('th', { scope: 'col' }, [h]),
      ),
    );
    section.append(el('table', {}, [el('thead', {}, [head]), el('tbody', {}, rows)]));
  } catch (error) {
    section.append(message(explain(error), 'error'));
  }
  return section;
}
