import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { sha256Ref } from '../../lib/canonical-json';
import {
  encryptedAnswerCommitment,
  releaseStatementProblems,
  signReleaseStatement,
  termsHashOf,
  type ReleaseStatementBody,
} from '../../lib/release-statement';
import { signTerms } from '../../lib/signed-terms';

const perimeter = generateEd25519KeyPair();
const buyer = generateEd25519KeyPair();
const terms = signTerms('cohort_query', 'buyer-1', { dealId: 'd1', price: '1000' }, buyer.privateKeyPem);
const body: ReleaseStatementBody = {
  type: 'tusk.release/v1',
  kind: 'sealed_table',
  sellerId: 'seller-1',
  dealId: 'd1',
  termsHash: termsHashOf(terms),
  commitment: `sha256:${'a'.repeat(64)}`,
  epsilonCharged: 1,
  deltaCharged: 0,
  datasetPolicy: { version: 3, hash: `sha256:${'b'.repeat(64)}` },
};
const expected = {
  perimeterKey: perimeter.publicKey,
  dealId: 'd1',
  commitment: body.commitment,
  termsHash: termsHashOf(terms),
};

describe("a perimeter's release statement", () => {
  it('holds for the deal, terms and commitment it names, under the registered perimeter key', () => {
    expect(releaseStatementProblems(signReleaseStatement(body, perimeter), expected)).toEqual([]);
  });

  it('names every way it fails: missing, another key, altered, another deal, commitment or terms', () => {
    expect(releaseStatementProblems(undefined, expected)).toEqual([
      'no well-formed release statement signed by the seller comes with the answer',
    ]);
    const byOperator = signReleaseStatement(body, generateEd25519KeyPair());
    expect(releaseStatementProblems(byOperator, expected)[0]).toMatch(
      /not the seller's registered perimeter key/,
    );
    const statement = signReleaseStatement(body, perimeter);
    const altered = { ...statement, body: { ...statement.body, epsilonCharged: 0 } };
    expect(releaseStatementProblems(altered, expected)).toEqual([
      "the perimeter's signature does not verify",
    ]);
    expect(releaseStatementProblems(statement, { ...expected, dealId: 'd2' })).toEqual([
      'it releases deal d1, not d2',
    ]);
    const other = `sha256:${'c'.repeat(64)}`;
    expect(releaseStatementProblems(statement, { ...expected, commitment: other })).toEqual([
      `the seller released commitment ${body.commitment}, not the ${other} delivered`,
    ]);
    const otherTerms = signTerms(
      'cohort_query',
      'buyer-1',
      { dealId: 'd1', price: '1' },
      buyer.privateKeyPem,
    );
    expect(releaseStatementProblems(statement, { ...expected, termsHash: termsHashOf(otherTerms) })).toEqual([
      'it answers other terms than the ones the buyer signed',
    ]);
  });

  it('vouches only for the kind of release it states', () => {
    const selection = signReleaseStatement({ ...body, kind: 'he_selection' }, perimeter);
    expect(releaseStatementProblems(selection, { ...expected, kind: 'he_selection' })).toEqual([]);
    expect(releaseStatementProblems(selection, { ...expected, kind: 'sealed_table' })).toEqual([
      'it states a he_selection release, not the sealed_table delivered',
    ]);
  });

  it('a milestone verdict holds only for its milestone, check and verdict', () => {
    const subject = { milestoneId: 'm1', checkId: '1', met: false };
    const verdict = signReleaseStatement(
      { ...body, kind: 'milestone_verdict', dealId: 'g1', subject },
      perimeter,
    );
    const wanted = { ...expected, dealId: 'g1', kind: 'milestone_verdict' as const, subject };
    expect(releaseStatementProblems(verdict, wanted)).toEqual([]);
    expect(releaseStatementProblems(verdict, { ...wanted, subject: { ...subject, met: true } })).toEqual([
      "the seller's verdict is not met, not what was recorded",
    ]);
    expect(releaseStatementProblems(verdict, { ...wanted, subject: { ...subject, checkId: '2' } })).toEqual([
      'it decides milestone m1 check 1, not m1 check 2',
    ]);
    const bare = signReleaseStatement({ ...body, kind: 'milestone_verdict', dealId: 'g1' }, perimeter);
    expect(releaseStatementProblems(bare, wanted)).toEqual(['it names no milestone verdict']);
  });

  it('an encrypted answer is committed to by its content address', () => {
    const bytes = Buffer.from('{"kind":"selection"}');
    const commitment = encryptedAnswerCommitment(sha256Ref(bytes));
    expect(commitment).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(encryptedAnswerCommitment(sha256Ref(Buffer.from('{"kind":"sum"}')))).not.toBe(commitment);
  });
});
