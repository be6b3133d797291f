// @ts-check
import { explain } from './api.js';
import { downloadBlob, el, message, replace } from './dom.js';

/**
 * A receipt's two downloads, each a signed request of the receipt's own party: the signed JSON (the
 * authoritative document, `tusk receipt show --out`) and its PDF for accounting (`tusk receipt pdf`).
 * @param {import('./api.js').Client} client
 * @param {string} path the receipt's API path, e.g. /deals/<id>/receipt
 * @param {string} name the file name's stem
 * @param {HTMLElement} status where the outcome is said
 */
export function receiptButtons(client, path, name, status) {
  const json = el('button', { type: 'button' }, ['Receipt (JSON)']);
  json.addEventListener('click', () => {
    client.get(path).then(
      (receipt) => {
        const text = JSON.stringify(receipt, null, 2);
        downloadBlob(new Blob([text], { type: 'application/json' }), `${name}.receipt.json`);
        replace(status, message(`Receipt of ${name} downloaded (JSON).`));
      },
      (error) => replace(status, message(explain(error), 'error')),
    );
  });
  const pdf = el('button', { type: 'button' }, ['Receipt (PDF)']);
  pdf.addEventListener('click', () => {
    client.getFile(`${path}/pdf`).then(
      (blob) => {
        downloadBlob(blob, `${name}.receipt.pdf`);
        replace(status, message(`Receipt of ${name} downloaded (PDF).`));
      },
      (error) => replace(status, message(explain(error), 'error')),
    );
  });
  return [json, pdf];
}
