// @ts-check
/**
 * What the page keeps across reloads, in this browser profile's IndexedDB for this origin:
 * - a party's keys, as the non-extractable CryptoKeys it imported: IndexedDB stores a CryptoKey by
 *   structured clone, which keeps it non-extractable, so a kept key signs and opens but can never be
 *   exported, by this page or any other;
 * - the terms the party signed here and their hash, which every answer must name (what the CLI keeps
 *   under $TUSK_HOME/terms/): the page accepts only answers to terms it signed.
 * "Forget keys" deletes a party's keys; nothing here is ever sent.
 */
const DATABASE = 'tusk-console';
const KEYS = 'keys';
const TERMS = 'terms';

/** @typedef {import('./tusk-crypto.js').HeldKey} HeldKey */
/** @typedef {'signing' | 'result'} KeyUse */
/** @typedef {{ request: Record<string, unknown>, termsHash: string }} KeptTerms */

/** @returns {Promise<IDBDatabase>} */
function openDatabase() {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DATABASE, 1);
    opening.onupgradeneeded = () => {
      opening.result.createObjectStore(KEYS);
      opening.result.createObjectStore(TERMS);
    };
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error ?? new Error('the browser storage did not open'));
  });
}

/**
 * Runs requests on one store in one transaction; resolves with the last request's result once the
 * transaction is committed (a write is kept, or nothing is).
 * @param {string} storeName @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest[]} requests
 * @returns {Promise<any>}
 */
async function transact(storeName, mode, requests) {
  const database = await openDatabase();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = database.transaction(storeName, mode);
      const made = requests(transaction.objectStore(storeName));
      transaction.oncomplete = () => resolve(made.at(-1)?.result);
      transaction.onerror = () => reject(transaction.error ?? new Error('the browser storage refused'));
      transaction.onabort = () => reject(transaction.error ?? new Error('the browser storage refused'));
    });
  } finally {
    database.close();
  }
}

/** Keeps one of a party's keys (replacing the one kept for that use). @param {string} partyId @param {KeyUse} use @param {HeldKey} key */
export const keepKey = (partyId, use, key) =>
  transact(KEYS, 'readwrite', (store) => [store.put(key, [partyId, use])]);

/**
 * The keys kept for a party, as the non-extractable keys they were imported as.
 * @param {string} partyId @returns {Promise<{ signing?: HeldKey, result?: HeldKey }>}
 */
export async function keptKeys(partyId) {
  const [signing, result] = await Promise.all(
    /** @type {KeyUse[]} */ (['signing', 'result']).map((use) =>
      transact(KEYS, 'readonly', (store) => [store.get([partyId, use])]),
    ),
  );
  return { ...(signing ? { signing } : {}), ...(result ? { result } : {}) };
}

/** The party ids whose keys are kept here. @returns {Promise<string[]>} */
export async function keptParties() {
  const keys = /** @type {[string, KeyUse][]} */ (
    await transact(KEYS, 'readonly', (store) => [store.getAllKeys()])
  );
  return [...new Set(keys.map(([partyId]) => partyId))];
}

/** Deletes a party's kept keys. @param {string} partyId */
export const forgetKeys = (partyId) =>
  transact(KEYS, 'readwrite', (store) => [
    store.delete([partyId, 'signing']),
    store.delete([partyId, 'result']),
  ]);

/**
 * Keeps the create request a party signed (with its terms signature) and the hash that names the
 * signed terms, under the lifecycle's id.
 * @param {string} partyId @param {string} kind @param {string} id @param {KeptTerms} kept
 */
export const keepTerms = (partyId, kind, id, kept) =>
  transact(TERMS, 'readwrite', (store) => [store.put(kept, [partyId, kind, id])]);

/**
 * The terms a party signed here for a lifecycle, if it did.
 * @param {string} partyId @param {string} kind @param {string} id @returns {Promise<KeptTerms | undefined>}
 */
export const keptTerms = (partyId, kind, id) =>
  transact(TERMS, 'readonly', (store) => [store.get([partyId, kind, id])]);
