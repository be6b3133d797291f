import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import {
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
});
