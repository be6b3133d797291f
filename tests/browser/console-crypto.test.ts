import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { canonicalJson } from '../../lib/canonical-json';
import { generateEd25519KeyPair, publicKeyOf } from '../../lib/ed25519';
import { generateX25519KeyPair, open, seal } from '../../lib/sealed-box';
import { draftHashOf, type DraftToSign } from '../../query-policies/draft-signature';
import { openSealedDraft } from '../../query-policies/sealed-draft';
import { openReviewNote, reviewNote, sealReviewNote } from '../../query-policies/sealed-review-note';
import { checkTemplateSignature, templateHash, type TemplateSignature } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { buildResultPayload, resultCommitment, sealResult } from '../../lib/sealed-result';
import { decisionSignatureValid } from '../../lib/signed-decision';
import { signRequest, verifyRequest } from '../../lib/signed-request';
import { signTerms, termsHashOf } from '../../lib/signed-terms';
import { publicKeyFromPem } from '../../lib/x25519-public';
import { consistencyProof, inclusionProof, leafHash, rootOf } from '../../lib/transparency/merkle';
import { signReleaseStatement } from '../../lib/release-statement';
import { extensionLookupKey } from '../../lib/transparency/release-entry';
import { launchChromium, serveConsoleOnly } from './browser';

/**
 * The console's WebCrypto code against the server's node:crypto code: what the page signs verifies
 * (byte for byte: Ed25519 is deterministic) and what the server seals opens in the page.
 */
describe('the console signs and opens exactly as the CLI and the API do', () => {
  let browser: Browser;
  let page: Page;
  let close: () => Promise<void>;
  const signing = generateEd25519KeyPair();
  const result = generateX25519KeyPair();

  /**
   * Runs `body` in the page with the console's crypto module as `tusk`: one expression handed to the
   * page as text (the page's CSP forbids eval, and the test runner would rewrite a dynamic import).
   */
  const inPage = <T>(body: string, args: unknown = {}): Promise<T> =>
    page.evaluate<T>(
      `(async (args) => { const tusk = await import('/console/tusk-crypto.js'); ${body} })(${JSON.stringify(args)})`,
    );

  beforeAll(async () => {
    const served = await serveConsoleOnly();
    close = () => served.app.close();
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(served.url);
  });
  afterAll(async () => {
    await browser?.close();
    await close?.();
  });

  it('imports the key files keygen writes as non-extractable keys with the same public keys', async () => {
    const held = await inPage<{ ed: string; x: string; exportable: boolean; refused: string }>(
      `const ed = await tusk.importKeyFile(args.ed, 'Ed25519');
       const x = await tusk.importKeyFile(args.x, 'X25519');
       const exportable = await crypto.subtle.exportKey('pkcs8', ed.privateKey).then(() => true, () => false);
       const refused = await tusk.importKeyFile(args.x, 'Ed25519').then(() => '', (e) => e.message);
       return { ed: ed.publicKey, x: x.publicKey, exportable, refused };`,
      { ed: signing.privateKeyPem, x: result.privateKeyPem },
    );
    expect(held.ed).toBe(signing.publicKey);
    expect(held.x).toBe(result.publicKey);
    expect(held.exportable).toBe(false);
    expect(held.refused).toBe('this file is not an Ed25519 private key');
  });

  it("signs requests (RFC 9421) that the API's check accepts, byte-identical to the CLI's", async () => {
    const request = {
      method: 'POST',
      url: '/deals?x=1&y=%20',
      body: JSON.stringify({ note: 'é 😀 <script>', n: 1 }),
      timestamp: Date.now(),
      nonce: 'n0nce-from-the-test',
    };
    const headers = await inPage<Record<string, string>>(
      `const key = await tusk.importKeyFile(args.pem, 'Ed25519');
       return tusk.signRequest('buyer-1', key.privateKey, args.request);`,
      { pem: signing.privateKeyPem, request },
    );
    expect(headers).toEqual(signRequest('buyer-1', signing.privateKeyPem, request));
    const received = { method: 'POST', url: request.url, body: request.body, headers };
    const keys = () => [signing.publicKey];
    expect(await verifyRequest(received, keys, Date.now())).toMatchObject({ ok: true, partyId: 'buyer-1' });
    expect(await verifyRequest({ ...received, url: '/deals' }, keys, Date.now())).toMatchObject({
      ok: false,
    });
  });

  it('writes canonical JSON as RFC 8785, and signs terms and decisions the server verifies', async () => {
    const value = { b: [1, 0.1, 1e21, -0, 'x'], a: { é: 1, z: null, A: true }, '\u00e9a': 'tab\t"q"' };
    expect(await inPage<string>('return tusk.canonicalJson(args.value);', { value })).toBe(
      canonicalJson(value),
    );

    const body = {
      dealId: 'd-1',
      templateId: 't',
      templateHash: 'sha256:00',
      parameters: { min_age: 30, sex: 'F' },
      price: '1000',
      buyerPublicKey: result.publicKey,
      compliance: { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] },
    };
    const terms = await inPage<string>(
      `const key = await tusk.importKeyFile(args.pem, 'Ed25519');
       return tusk.signTerms('cohort_query', 'buyer-1', key, args.body);`,
      { pem: signing.privateKeyPem, body },
    );
    const envelope = signTerms('cohort_query', 'buyer-1', body, signing.privateKeyPem);
    expect(terms).toBe(envelope.signature);
    // The hash that names the signed terms, which the page keeps and answers must name.
    const hashed = await inPage<string>(
      `return tusk.termsHashOf('cohort_query', 'buyer-1', args.publicKey, { ...args.body, termsSignature: args.terms });`,
      { publicKey: signing.publicKey, body, terms },
    );
    expect(hashed).toBe(termsHashOf(envelope));

    const scope = { workflowId: 'deal-d-1', runId: 'r', subject: { id: 'd-1', termsHash: 'sha256:11' } };
    const decision = await inPage<{ notAfter: number; signature: string }>(
      `const key = await tusk.importKeyFile(args.pem, 'Ed25519');
       return tusk.signDecision(key.privateKey, args.scope, 'deal_confirmation', 'buyer-1', {});`,
      { pem: signing.privateKeyPem, scope },
    );
    const statement = {
      ...scope,
      action: 'deal_confirmation',
      principal: 'buyer-1',
      content: {},
      notAfter: decision.notAfter,
    };
    expect(
      decisionSignatureValid(signing.publicKey, { statement, signature: decision.signature } as never),
    ).toBe(true);
  });

  it('opens boxes the server sealed, and refuses another context, another key and a flipped bit', async () => {
    const plaintext = 'a sealed answer: é 😀';
    const box = (await seal(Buffer.from(plaintext), result.publicKey, 'tusk result d-1')).toString('base64');
    const opened = await inPage<string[]>(
      `const key = await tusk.importKeyFile(args.pem, 'X25519');
       const other = await tusk.importKeyFile(args.otherPem, 'X25519');
       const bytes = tusk.fromBase64(args.box);
       const flipped = bytes.slice(); flipped[40] ^= 1;
       const text = (p) => p.then((b) => new TextDecoder().decode(b), (e) => e.message);
       return Promise.all([
         text(tusk.openSealedBox(bytes, key, 'tusk result d-1')),
         text(tusk.openSealedBox(bytes, key, 'tusk result d-2')),
         text(tusk.openSealedBox(bytes, other, 'tusk result d-1')),
         text(tusk.openSealedBox(flipped, key, 'tusk result d-1')),
       ]);`,
      { pem: result.privateKeyPem, otherPem: generateX25519KeyPair().privateKeyPem, box },
    );
    const refusal = 'the box does not open with this key (wrong key, wrong deal, or tampered)';
    expect(opened).toEqual([plaintext, refusal, refusal, refusal]);
  });

  it('seals boxes (HPKE) that the server opens, each under its own context only', async () => {
    const plaintext = 'SELECT person_id FROM patients -- é 😀';
    const boxes = await inPage<string[]>(
      `const bytes = new TextEncoder().encode(args.plaintext);
       const one = await tusk.sealBox(bytes, args.publicKey, 'ctx-1');
       const two = await tusk.sealBox(bytes, args.publicKey, 'ctx-1');
       return [tusk.base64url(one), tusk.base64url(two)];`,
      { plaintext, publicKey: result.publicKey },
    );
    const [one, two] = boxes.map((b) => Buffer.from(b, 'base64url'));
    // A fresh ephemeral key per box: the same plaintext never seals to the same bytes.
    expect(one!.equals(two!)).toBe(false);
    expect((await open(one!, result.privateKeyPem, 'ctx-1')).toString('utf8')).toBe(plaintext);
    await expect(open(one!, result.privateKeyPem, 'ctx-2')).rejects.toThrow(/does not open/);
    await expect(open(one!, generateX25519KeyPair().privateKeyPem, 'ctx-1')).rejects.toThrow(/does not open/);
  });

  it("seals and signs a proposed draft as the CLI does: the perimeter's reader opens it and its signature checks", async () => {
    const perimeter = generateX25519KeyPair();
    const draft = {
      id: 'probe',
      seller: 'seller-1',
      dataset: 'patients',
      sql: 'SELECT 1 -- <script>',
      price: '5',
    };
    const toSign = {
      reviewId: 'review-1',
      revision: 2,
      proposer: 'buyer-1',
      draft,
      replyKey: result.publicKey,
    };
    const made = await inPage<{ file: string; draftHash: string; templateSignature: TemplateSignature }>(
      `const drafts = await import('/console/review-drafts.js');
       const key = await tusk.importKeyFile(args.pem, 'Ed25519');
       const box = await tusk.sealBox(new TextEncoder().encode(JSON.stringify(args.toSign)), args.perimeter, 'tusk template draft v1 review-1');
       const file = JSON.stringify({ type: 'tusk.sealed-draft/v1', perimeter: tusk.base64url(box) });
       const draftHash = await drafts.draftHashOf(args.toSign);
       const templateSignature = await drafts.signTemplate({ signingKey: key }, args.toSign.draft);
       return { file, draftHash, templateSignature };`,
      { pem: signing.privateKeyPem, perimeter: perimeter.publicKey, toSign },
    );
    expect(made.draftHash).toBe(draftHashOf(toSign as unknown as DraftToSign));
    const opened = await openSealedDraft(
      Buffer.from(made.file),
      'perimeter',
      perimeter.privateKeyPem,
      'review-1',
    );
    expect(opened).toEqual(toSign);
    await expect(
      openSealedDraft(Buffer.from(made.file), 'perimeter', perimeter.privateKeyPem, 'review-2'),
    ).rejects.toThrow(/does not open for review review-2/);
    const template = draft as unknown as QueryTemplate;
    expect(checkTemplateSignature(template, made.templateSignature, signing.publicKey)).toEqual({
      ok: true,
      hash: templateHash(template),
    });
  });

  it("seals a seller's review note as sealed-review-note.ts does: both readers open it with the server's code, its hash checks", async () => {
    const perimeter = generateX25519KeyPair();
    const proposer = generateX25519KeyPair();
    const text = 'k = 20 is low: make it 25 — é 😀 <script>';
    const made = await inPage<{ file: string; hash: string; salt: string }>(
      `const notes = await import('/console/review-notes.js');
       const note = notes.reviewNote('review-1', 2, 'request_changes', args.text);
       const { file, hash } = await notes.sealReviewNote(note, { perimeter: args.perimeter, proposer: args.proposer });
       return { file, hash, salt: note.salt };`,
      { text, perimeter: perimeter.publicKey, proposer: proposer.publicKey },
    );
    expect(Buffer.from(made.salt, 'base64url')).toHaveLength(32);
    expect(made.file).not.toContain('make it 25');
    const expected = { reviewId: 'review-1', revision: 2, kind: 'request_changes' as const, hash: made.hash };
    const bytes = Buffer.from(made.file);
    for (const [reader, key] of [
      ['perimeter', perimeter],
      ['proposer', proposer],
    ] as const)
      expect(await openReviewNote(bytes, reader, key.privateKeyPem, expected)).toEqual({
        reviewId: 'review-1',
        revision: 2,
        salt: made.salt,
        kind: 'request_changes',
        message: text,
      });
    await expect(
      openReviewNote(bytes, 'proposer', proposer.privateKeyPem, { ...expected, reviewId: 'review-2' }),
    ).rejects.toThrow(/does not open for review review-2/);
    await expect(
      openReviewNote(bytes, 'perimeter', perimeter.privateKeyPem, { ...expected, kind: 'comment' }),
    ).rejects.toThrow(/not the recorded comment/);
  });

  it('opens a note the server sealed, and refuses one whose hash is not the recorded one', async () => {
    const proposer = generateX25519KeyPair();
    const note = reviewNote('review-1', 1, { kind: 'lint', issues: [{ code: 'x', message: 'é', fix: 'y' }] });
    const { bytes, hash } = await sealReviewNote(note, {
      perimeter: generateX25519KeyPair().publicKey,
      proposer: proposer.publicKey,
    });
    const opened = await inPage<{ note: unknown; refused: string }>(
      `const notes = await import('/console/review-notes.js');
       const key = await tusk.importKeyFile(args.pem, 'X25519');
       const expected = { reviewId: 'review-1', revision: 1, kind: 'lint', hash: args.hash };
       const note = await notes.openReviewNote(args.sealed, 'proposer', key, expected);
       const refused = await notes.openReviewNote(args.sealed, 'proposer', key, { ...expected, hash: 'sha256:00' })
         .then(() => '', (e) => e.message);
       return { note, refused };`,
      { pem: proposer.privateKeyPem, sealed: bytes.toString('base64url'), hash },
    );
    expect(opened.note).toEqual(note);
    expect(opened.refused).toMatch(/not the recorded one/);
  });

  it("opens a deal's padded result and checks it against the recorded commitment", async () => {
    const payload = buildResultPayload(
      { dealId: 'd-9', templateId: 't', templateHash: 'sha256:00', parameters: { sex: 'F' } },
      {
        columns: ['zip3', 'patients'],
        rows: [
          ['100', 31],
          ['101', null],
        ],
        privacy: {
          mechanism: 'discrete_laplace',
          epsilonSpent: 2,
          delta: 0,
          noiseScales: { units: 1.5 },
          minCohortSize: 20,
          groupRelease: { kind: 'declared_domain' },
        },
      },
    );
    const sealed = {
      dealId: 'd-9',
      ciphertext: (await sealResult(payload, publicKeyFromPem(result.privateKeyPem), 4096)).toString(
        'base64',
      ),
      commitment: resultCommitment(payload),
    };
    const outcome = await inPage<[unknown, string]>(
      `const key = await tusk.importKeyFile(args.pem, 'X25519');
       const good = await tusk.openDealResult(args.sealed, key);
       const bad = await tusk.openDealResult({ ...args.sealed, commitment: 'sha256:00' }, key).then(() => '', (e) => e.message);
       return [good, bad];`,
      { pem: result.privateKeyPem, sealed },
    );
    expect(outcome[0]).toEqual(payload);
    expect(outcome[1]).toBe('the result does not match the commitment recorded for the deal');
  });

  it('makes keys in the page whose downloaded files are keys the CLI reads', async () => {
    const made = await inPage<{ pem: string; publicKey: string }>(
      `const { pem, held } = await tusk.generateKeyFile('Ed25519');
       return { pem, publicKey: held.publicKey };`,
    );
    expect(publicKeyOf(made.pem)).toBe(made.publicKey);
  });
  /** The console's release check module in the page, as `check`. */
  const inCheck = <T>(body: string, args: unknown = {}): Promise<T> =>
    page.evaluate<T>(
      `(async (args) => { const check = await import('/console/release-check.js'); const hex = (h) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16)); ${body} })(${JSON.stringify(args)})`,
    );

  it('verifies RFC 9162 inclusion and consistency proofs as lib/transparency/merkle.ts does, and refuses altered ones', async () => {
    const leaves = Array.from({ length: 13 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
    const cases = [];
    for (let size = 1; size <= leaves.length; size++) {
      const tree = leaves.slice(0, size);
      const root = rootOf(tree).toString('hex');
      for (let m = 0; m < size; m++)
        cases.push({
          kind: 'inclusion',
          m,
          size,
          leaf: tree[m]!.toString('hex'),
          proof: inclusionProof(tree, m).map((h) => h.toString('hex')),
          root,
        });
      for (let m = 1; m <= size; m++)
        cases.push({
          kind: 'consistency',
          m,
          size,
          older: rootOf(tree.slice(0, m)).toString('hex'),
          proof: consistencyProof(tree, m).map((h) => h.toString('hex')),
          root,
        });
    }
    const verdicts = await inCheck<{ genuine: boolean; altered: boolean }[]>(
      `const out = [];
       for (const c of args.cases) {
         const run = (proof, root) => c.kind === 'inclusion'
           ? check.verifyInclusion(c.m, c.size, hex(c.leaf), proof.map(hex), hex(root))
           : check.verifyConsistency(c.m, c.size, hex(c.older), hex(root), proof.map(hex));
         const altered = c.proof.length > 0 ? [('00'.repeat(32)), ...c.proof.slice(1)] : c.proof;
         out.push({ genuine: await run(c.proof, c.root), altered: await run(altered, c.proof.length > 0 ? c.root : '11'.repeat(32)) });
       }
       return out;`,
      { cases },
    );
    expect(verdicts).toHaveLength(cases.length);
    expect(verdicts.every((v) => v.genuine)).toBe(true);
    // A changed proof, or a proof-free claim with another root, is refused (except the trivial m = size case).
    const trivial = cases.map((c) => c.kind === 'consistency' && c.m === c.size);
    expect(verdicts.filter((v, i) => v.altered && !trivial[i])).toEqual([]);
  });

  it("checks a release statement as lib/release-statement.ts: the perimeter's signature, deal and commitment", async () => {
    const perimeter = generateEd25519KeyPair();
    const body = {
      type: 'tusk.release/v1' as const,
      kind: 'sealed_table' as const,
      sellerId: 'seller-1',
      dealId: 'deal-1',
      termsHash: `sha256:${'a'.repeat(64)}`,
      commitment: `sha256:${'b'.repeat(64)}`,
      epsilonCharged: 0.5,
      deltaCharged: 0,
      datasetPolicy: { version: 1, hash: 'sha256:c' },
    };
    const statement = signReleaseStatement(body, perimeter);
    const problems = await inCheck<string[][]>(
      `const expected = { perimeterKey: args.key, dealId: 'deal-1', commitment: args.body.commitment };
       return [
         await check.releaseStatementProblems(args.statement, expected),
         await check.releaseStatementProblems({ ...args.statement, body: { ...args.body, epsilonCharged: 0 } }, expected),
         await check.releaseStatementProblems(args.statement, { ...expected, dealId: 'deal-2' }),
         await check.releaseStatementProblems(args.statement, { ...expected, perimeterKey: args.other }),
         await check.releaseStatementProblems(undefined, expected),
       ];`,
      { statement, body, key: perimeter.publicKey, other: generateEd25519KeyPair().publicKey },
    );
    expect(problems[0]).toEqual([]);
    expect(problems[1]).toEqual(["the perimeter's signature does not verify"]);
    expect(problems[2]).toEqual(['it releases deal deal-1, not deal-2']);
    expect(problems[3]![0]).toMatch(/not the seller's registered perimeter key/);
    expect(problems[4]).toEqual([
      'no well-formed release statement signed by the seller comes with the answer',
    ]);
  });

  it("computes a grant's extension lookup key as the log and the CLI do", async () => {
    const grant = { grantId: 'grant-é-1', termsHash: `sha256:${'ab'.repeat(32)}` };
    const key = await page.evaluate<string>(
      `(async (a) => (await import('/console/extension-check.js')).extensionLookupKey(a.grantId, a.termsHash))(${JSON.stringify(grant)})`,
    );
    expect(key).toBe(extensionLookupKey(grant));
    expect(key).not.toBe(extensionLookupKey({ ...grant, grantId: 'grant-é-2' }));
  });
});
