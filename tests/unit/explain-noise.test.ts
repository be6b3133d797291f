import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { noiseAgainstTypical } from '../../query-policies/explain';
import { noisePlan } from '../../query-policies/noise-plan';
import { queryTemplate } from '../../query-policies/template';

const template = queryTemplate.parse(
  JSON.parse(
    readFileSync(join(__dirname, '../../query-policies/demo-seller/cohort-cost-by-zip3.json'), 'utf8'),
  ),
);
const plan = noisePlan(template);
const typical = (units: number, sums: number) => ({
  groups: 3600,
  medians: { units, ...Object.fromEntries(Object.keys(plan.sumScales).map((name) => [name, sums])) },
});

describe("template explain against the seller's typical group", () => {
  it('states each noise scale beside the typical value, with its share', () => {
    const text = noiseAgainstTypical(
      template,
      typical(plan.countScale * 100, plan.sumScales.total_cost! * 100),
    );
    expect(text).toContain(`units: ±${plan.countScale} against`);
    expect(text).toContain('(1.0%)');
    expect(text).toContain('avg_cost (its sum)');
    expect(text).not.toContain('WARNING');
  });

  it('warns when the noise is at least half of a typical value, naming the quantity', () => {
    const text = noiseAgainstTypical(template, typical(plan.countScale, plan.sumScales.total_cost! * 100));
    expect(text).toMatch(/WARNING: the noise on units \(±[\d.]+\) is 100% of a typical group's value/);
    expect(text.match(/WARNING/g)).toHaveLength(1);
  });

  it('warns when a typical group is empty: there is nothing for the noise to be small against', () => {
    expect(noiseAgainstTypical(template, typical(0, 0)).match(/WARNING/g)).toHaveLength(3);
  });
});
