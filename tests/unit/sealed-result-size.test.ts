import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { releasePrivately } from '../../activities/perimeter/private-release';
import { canonicalJson } from '../../lib/canonical-json';
import {
  buildResultPayload,
  openResult,
  resultCommitment,
  sealCommittedResult,
  sealResult,
} from '../../lib/sealed-result';
import { publicKeyFromPem } from '../../sdk';
import { sumColumn, UNITS_COLUMN } from '../../query-policies/cohort-sql';
import { noisePlan } from '../../query-policies/noise-plan';
import { MAX_DIMENSION_BYTES, fitDimension, rowsBytesBound } from '../../query-policies/result-size';
import { queryTemplate, type QueryTemplate } from '../../query-policies/template';
import { seededRandom } from '../support/seeded-random';
import { sampleTemplate } from '../support/templates';

const buyerPrivate = generateKeyPairSync('x25519')
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const buyerPublic = publicKeyFromPem(buyerPrivate);

const group = (zip3: string, units: number, sum = units * 50) => ({
  zip3,
  [UNITS_COLUMN]: BigInt(units),
  [sumColumn('avg_cost')]: BigInt(sum),
});

/**
 * Twelve groups, sizes from 9 to 10 000 so numbers of every width appear, several near k = 20 and near
 * partition selection's τ = 57 (ε = 1, m = 2: b = 4); the target is in three of them.
 */
function dataset(withTarget: boolean) {
  const sizes = [9, 19, 20, 21, 52, 56, 57, 60, 999, 9999, 10_000, 25];
  return sizes.map((size, i) => group(String(150 + i), size + (withTarget && i % 4 === 1 ? 1 : 0)));
}

async function sealed(template: QueryTemplate, rows: Record<string, unknown>[], seed: number) {
  const table = releasePrivately(template, noisePlan(template), rows, seededRandom(seed));
  const payload = buildResultPayload(
    { dealId: 'deal-1', templateId: template.id, templateHash: 'sha256:00', parameters: { min_age: 30 } },
    table,
  );
  return { table, payload, box: await sealResult(payload, buyerPublic, rowsBytesBound(template)) };
}

const templates: Record<string, QueryTemplate> = {
  'partition selection': sampleTemplate({ minCohortSize: 20, maxGroups: 12 }),
  'declared domain': sampleTemplate({
    minCohortSize: 20,
    groupDomain: { zip3: { from: 150, to: 161 } },
    privacy: { mechanism: 'discrete_laplace', epsilon: 1 },
  }),
};

describe('sealed answers have a size fixed by the template', () => {
  for (const [mode, template] of Object.entries(templates)) {
    it(`${mode}: neighbouring datasets, different groups released, identical sealed length`, async () => {
      const lengths = new Set<number>();
      const plaintexts = new Set<number>();
      const shapes = new Set<string>();
      for (let seed = 0; seed < 200; seed++) {
        for (const withTarget of [true, false]) {
          const { table, payload, box } = await sealed(template, dataset(withTarget), seed);
          lengths.add(box.length);
          plaintexts.add(Buffer.byteLength(canonicalJson(payload)));
          shapes.add(table.rows.map((row) => `${row[0]}${row[1] === null ? '-' : 'n'}`).join(','));
        }
      }
      // The answers did differ (in rows released or withheld, and in their JSON length)...
      expect(shapes.size).toBeGreaterThan(1);
      expect(plaintexts.size).toBeGreaterThan(1);
      // ...and the operator, who sees only the box, sees one length.
      expect([...lengths]).toHaveLength(1);
    });
  }

  it('partition selection: the released row count varies, the sealed length does not', async () => {
    const template = templates['partition selection']!;
    const rowCounts = new Set<number>();
    const lengths = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const { table, box } = await sealed(template, dataset(seed % 2 === 0), seed);
      rowCounts.add(table.rows.length);
      lengths.add(box.length);
    }
    expect(rowCounts.size).toBeGreaterThan(1);
    expect(lengths.size).toBe(1);
  });

  it('the buyer opens a padded answer and sees the payload, not the padding', async () => {
    const template = templates['partition selection']!;
    const { payload, box } = await sealed(template, dataset(true), 3);
    const opened = await openResult(box, buyerPrivate, 'deal-1', resultCommitment(payload));
    expect(opened).toEqual(payload);
    expect(box.length).toBeGreaterThan(Buffer.byteLength(canonicalJson(payload)) + 100);
  });

  it('the perimeter seals and commits from one canonical form: the buyer opens it under that commitment', async () => {
    const template = templates['declared domain']!;
    const { payload } = await sealed(template, dataset(true), 4);
    const { box, commitment } = await sealCommittedResult(payload, buyerPublic, rowsBytesBound(template));
    expect(commitment).toBe(resultCommitment(payload));
    expect(await openResult(box, buyerPrivate, 'deal-1', commitment)).toEqual(payload);
    // Another answer's commitment does not open it.
    const other = (await sealed(template, dataset(false), 4)).payload;
    await expect(openResult(box, buyerPrivate, 'deal-1', resultCommitment(other))).rejects.toThrow(
      /does not match the commitment/,
    );
  });

  it('keeps the maxGroups highest noisy counts when more groups pass the threshold', async () => {
    const template = sampleTemplate({ minCohortSize: 20, maxGroups: 3 });
    const rows = [
      group('100', 500),
      group('101', 90_000),
      group('102', 600),
      group('103', 80_000),
      group('104', 700),
      group('105', 70_000),
    ];
    for (let seed = 0; seed < 20; seed++) {
      const { table } = await sealed(template, rows, seed);
      expect(table.rows.map((row) => row[0])).toEqual(['101', '103', '105']);
    }
  });

  it('cuts a long dimension value from the data to the padded width, on whole characters', async () => {
    for (const value of ['x'.repeat(200), '\u0001'.repeat(40), '🦣'.repeat(40), 'é'.repeat(70)]) {
      const cut = fitDimension(value);
      expect(Buffer.byteLength(canonicalJson(cut))).toBeLessThanOrEqual(MAX_DIMENSION_BYTES);
      expect(cut.endsWith('…')).toBe(true);
      expect(value.startsWith(cut.slice(0, -1))).toBe(true);
      expect(() => canonicalJson(cut)).not.toThrow();
    }
    expect(fitDimension('150')).toBe('150');
    const template = sampleTemplate({ minCohortSize: 20, maxGroups: 2 });
    const long = [group('a'.repeat(300), 5000), group('b'.repeat(20), 5000)];
    const short = [group('c', 5000)];
    expect((await sealed(template, long, 1)).box.length).toBe((await sealed(template, short, 1)).box.length);
  });

  it('maxGroups is signed with partition selection only, and bounded', () => {
    const issues = (changes: Partial<QueryTemplate>) =>
      queryTemplate.safeParse(sampleTemplate(changes)).error?.issues.map((issue) => issue.message) ?? [];
    expect(issues({ maxGroups: 50 })).toEqual([]);
    expect(issues({ maxGroups: 0 }).length).toBeGreaterThan(0);
    // Every answer is padded to the largest possible one, so a bound too large to store is refused.
    expect(issues({ maxGroups: 65_536 })).toEqual([
      expect.stringMatching(/padded to its largest possible size/),
    ]);
    expect(
      issues({
        maxGroups: 50,
        groupDomain: { zip3: ['150'] },
        privacy: { mechanism: 'discrete_laplace', epsilon: 1 },
      }),
    ).toEqual(['a declared groupDomain fixes the groups: maxGroups is for partition selection only']);
  });
});
