import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { releaseLogIn, TransparencyLog } from '../../api/audit/log-store';
import { generateEd25519KeyPair, publicKeyOf, signEd25519 } from '../../lib/ed25519';
import {
  checkKeptReleases,
  keptSizesBelow,
  parseKeptReleases,
  type KeptReleaseProof,
  type LogNow,
} from '../../lib/transparency/kept-release';
import type { OperatorSigner } from '../../lib/transparency/operator-key';
import type { ReleaseLookup } from '../../lib/transparency/release-entry';
import { signDocument } from '../../lib/transparency/signed-document';

const signerOf = (pem: string): OperatorSigner => ({
  publicKey: publicKeyOf(pem),
  sign: (message) => signEd25519(pem, message),
});
const operator = signerOf(generateEd25519KeyPair().privateKeyPem);
const stranger = signerOf(generateEd25519KeyPair().privateKeyPem);
const KEY = 'e'.repeat(64);
const DIGEST = `sha256:${'d'.repeat(64)}`;
const hex = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

describe("a perimeter's kept release proofs against the log now", () => {
  let dir: string;
  const opened: TransparencyLog[] = [];
  const open = (name: string, signer = operator) => {
    const log = TransparencyLog.open(join(dir, name), signer);
    opened.push(log);
    return log;
  };
  /** Other entries, as receipts and other deals' releases grow the log. */
  const grow = (log: TransparencyLog, count: number, from = 0) => {
    for (let n = from; n < from + count; n += 1)
      log.logRelease({ lookupKey: 'a'.repeat(64), digest: hex(n) });
  };
  /** What the perimeter keeps when it logs the release (activities/perimeter/release-logging.ts). */
  const keep = async (log: TransparencyLog): Promise<KeptReleaseProof> => {
    const { head, proof } = await releaseLogIn(log).logRelease({ lookupKey: KEY, digest: DIGEST });
    return { lookupKey: KEY, digest: DIGEST, dealId: 'd1', termsHash: DIGEST, proof, treeHead: head };
  };
  /** The log's answers now, as `tusk seller log check` fetches them. */
  const now = (log: TransparencyLog, kept: KeptReleaseProof[], lookup?: ReleaseLookup): LogNow => {
    const head = log.head();
    const size = head.body.treeSize;
    return {
      head,
      consistency: new Map(keptSizesBelow(kept, size).map((first) => [first, log.consistency(first, size)])),
      lookups: new Map([[KEY, lookup ?? log.releaseLookup(KEY, size)]]),
    };
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tusk-kept-'));
  });
  afterEach(async () => {
    for (const log of opened.splice(0)) log.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds a kept release still in a log that only grew', async () => {
    const log = open('log.sqlite');
    grow(log, 3);
    const kept = await keep(log);
    grow(log, 5, 3);
    expect(checkKeptReleases([kept], now(log, [kept]), operator.publicKey)).toEqual([
      expect.objectContaining({ status: 'still', leafIndex: 3, dealId: 'd1' }),
    ]);
  });

  it('names the release lost from a log rewritten to a longer one, with the kept head as evidence', async () => {
    const log = open('log.sqlite');
    grow(log, 3);
    const kept = await keep(log);
    const rewritten = open('rewritten.sqlite');
    grow(rewritten, 9, 100);
    expect(checkKeptReleases([kept], now(rewritten, [kept]), operator.publicKey)).toEqual([
      {
        dealId: 'd1',
        lookupKey: KEY,
        digest: DIGEST,
        leafIndex: 3,
        status: 'lost',
        problem: 'the log of 9 entries does not extend the kept head of 4: history was rewritten',
        keptHead: kept.treeHead,
      },
    ]);
  });

  it('names the release lost from a log that shrank, or forked at the same size', async () => {
    const log = open('log.sqlite');
    grow(log, 3);
    const kept = await keep(log);
    const shorter = open('shorter.sqlite');
    grow(shorter, 2, 100);
    expect(checkKeptReleases([kept], now(shorter, [kept]), operator.publicKey)[0]).toMatchObject({
      status: 'lost',
      problem: expect.stringMatching(/shrank from the kept head's 4 entries to 2/),
    });
    const forked = open('forked.sqlite');
    grow(forked, 4, 100);
    expect(checkKeptReleases([kept], now(forked, [kept]), operator.publicKey)[0]).toMatchObject({
      status: 'lost',
      problem: expect.stringMatching(/another root than the kept head of the same size: the log forked/),
    });
  });

  it("names a release the log's signed answer leaves out, though the log itself is consistent", async () => {
    const log = open('log.sqlite');
    const kept = await keep(log);
    grow(log, 2);
    const honest = log.releaseLookup(KEY, log.size());
    // The operator signs an answer that holds nothing under the key: what settlement would read.
    const lie: ReleaseLookup = {
      ...honest,
      releases: [],
      statement: signDocument(operator, { ...honest.statement.body, leafIndexes: [] }),
    };
    expect(checkKeptReleases([kept], now(log, [kept], lie), operator.publicKey)[0]).toMatchObject({
      status: 'lost',
      problem: expect.stringMatching(
        /no longer lists it at leaf 0: settlement would refund the deal as unanswered/,
      ),
    });
  });

  it('calls a kept record unproven when its head is not the pinned operator key', async () => {
    const other = open('other.sqlite', stranger);
    const kept = await keep(other);
    expect(checkKeptReleases([kept], now(other, [kept]), operator.publicKey)[0]).toMatchObject({
      status: 'unproven',
      problem: expect.stringMatching(/^the kept head is not signed by the pinned operator key/),
    });
  });

  it('reads the kept file, naming a line that is not a kept proof', async () => {
    const kept = await keep(open('log.sqlite'));
    const text = `${JSON.stringify(kept)}\n\n{"lookupKey":"x"}\nnot json\n`;
    const parsed = parseKeptReleases(text);
    expect(parsed.kept).toEqual([kept]);
    expect(parsed.problems).toEqual([
      expect.stringMatching(/^line 3 is not a kept release proof/),
      'line 4 is not JSON',
    ]);
  });
});
