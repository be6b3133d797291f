import { noisePlan } from './noise-plan';
import { maxReleasedGroups } from './result-size';
import type { MetricSpec, QueryTemplate } from './template';

function describeMetric(metric: MetricSpec, unit: string): string {
  switch (metric.aggregate) {
    case 'count_units':
      return `${metric.name}: how many distinct ${unit} values are in the group`;
    case 'sum':
      return `${metric.name}: the sum of ${metric.column}, each ${unit}'s total in the group held between ${metric.min} and ${metric.max}`;
    case 'avg':
      return `${metric.name}: the average per ${unit} of ${metric.column}, each ${unit}'s total in the group held between ${metric.min} and ${metric.max}`;
  }
}

function rangeOf(spec: QueryTemplate['parameters'][string]): string {
  switch (spec.type) {
    case 'integer':
      return `a whole number from ${spec.min} to ${spec.max}`;
    case 'date':
      return `a date (YYYY-MM-DD) from ${spec.min} to ${spec.max}`;
    case 'decimal':
      return `a decimal written with ${spec.scale} places, from ${spec.min} to ${spec.max}`;
    case 'enum':
      return `one of ${spec.values.join(', ')}`;
  }
}

function describeParameter([name, spec]: [string, QueryTemplate['parameters'][string]]): string {
  const range = rangeOf(spec);
  return `  - ${name}: ${range}${spec.description ? ` (${spec.description})` : ''}`;
}

/** A template's output shape and privacy settings in plain words, for the seller who signs it. */
export function explainTemplate(template: QueryTemplate): string {
  const plan = noisePlan(template);
  const unit = template.privacyUnit;
  const mechanism =
    template.privacy.mechanism === 'discrete_laplace' ? 'discrete Laplace' : 'discrete Gaussian';
  const release = plan.groupRelease;
  const groups =
    release.kind === 'declared_domain'
      ? `Every group of the declared domain is answered, empty ones too; a group whose noisy count is under ${template.minCohortSize} shows no numbers.`
      : `Groups are not declared, so a group is answered only when its noisy count reaches ${Math.max(release.threshold, template.minCohortSize)} (private partition selection; a group that exists because of one ${unit} shows with probability at most δ = ${release.delta}); at most ${maxReleasedGroups(template)} groups, the highest noisy counts first.`;
  const sums = Object.entries(plan.sumScales).map(([name, scale]) => `±${scale} on the sum behind ${name}`);
  return [
    `${template.id} v${template.version} by ${template.seller}: ${template.title}`,
    template.description,
    '',
    `Reads dataset ${template.dataset}. The buyer chooses:`,
    ...Object.entries(template.parameters).map(describeParameter),
    ...(template.constraints ?? []).map((constraint) =>
      'lessOrEqual' in constraint
        ? `  - ${constraint.lessOrEqual[0]} must be at most ${constraint.lessOrEqual[1]}`
        : `  - ${constraint.lessThan[0]} must be below ${constraint.lessThan[1]}`,
    ),
    '',
    `Answers one row per ${template.dimensions.join(' × ')} with:`,
    ...template.metrics.map((metric) => `  - ${describeMetric(metric, unit)}`),
    '',
    'Privacy:',
    `  - ${groups}`,
    `  - Rows whose ${unit} is NULL belong to nobody known and are left out.`,
    `  - A ${unit} found in more than ${template.maxGroupsPerUnit} groups is left out entirely.`,
    `  - Every number gets ${mechanism} noise; one answer is (ε = ${plan.epsilon}, δ = ${plan.delta})-differentially private.`,
    `    Noise scale (rounded up): ±${plan.countScale} on counts${sums.length > 0 ? `, ${sums.join(', ')}` : ''}.`,
    `  - Budgets (per buyer, and for all buyers together) are set in the seller's signed dataset policy, not here; the same question asked again inside the window returns the same answer and costs nothing.`,
    template.milestones
      ? `  - Grant milestones may be checked on it: ε = ${template.milestones.epsilon} per milestone, at most ${template.milestones.maxChecks} checks.`
      : '  - Grant milestones may not be checked on it.',
    '',
    `Allowed for: jurisdictions ${template.compliance.jurisdictions.join(', ')}; purposes ${template.compliance.purposes.join(', ')}.`,
    `The buyer must accept data classes: ${template.compliance.dataClasses.join(', ')}.`,
    `Multi-seller encrypted sums: ${template.multiSeller ? 'allowed' : 'not allowed'}. Private selection (the buyer picks groups under encryption): ${template.privateSelection ? 'allowed' : 'not allowed'}. Price: ${template.price}.`,
  ].join('\n');
}

/** The seller's own median group (see cli/template/typical-values.ts), by quantity name. */
export interface TypicalGroups {
  groups: number;
  /** `units` for the count, each summed metric by its name. */
  medians: Record<string, number>;
}

/** Noise at least this share of a typical value is called out; at least NOISE_SWAMPS, a warning. */
const NOISE_NOTABLE = 0.1;
const NOISE_SWAMPS = 0.5;

/**
 * The noise of each released number beside a typical group's value, with a warning where the noise
 * is as large as the value it hides (the answer would be mostly noise).
 */
export function noiseAgainstTypical(template: QueryTemplate, typical: TypicalGroups): string {
  const plan = noisePlan(template);
  const scales: [string, number][] = [
    ['units', plan.countScale],
    ...Object.entries(plan.sumScales).filter(([name]) => name in typical.medians),
  ];
  const lines = [
    `Noise against a typical group (the median of ${typical.groups.toLocaleString('en')} groups over the whole table; a buyer's cohort is a part of it, so its groups are smaller):`,
  ];
  const warnings: string[] = [];
  for (const [name, scale] of scales) {
    const median = typical.medians[name] ?? 0;
    const share = median > 0 ? scale / median : Infinity;
    const shown = Number.isFinite(share)
      ? `${(share * 100).toFixed(share < 0.01 ? 2 : 1)}%`
      : 'no typical value';
    const label =
      template.metrics.find((m) => m.name === name)?.aggregate === 'avg' ? `${name} (its sum)` : name;
    lines.push(
      `  - ${label}: ±${scale} against ${median.toLocaleString('en', { maximumFractionDigits: 0 })} (${shown})${share >= NOISE_NOTABLE && share < NOISE_SWAMPS ? ': noticeable' : ''}`,
    );
    if (share >= NOISE_SWAMPS)
      warnings.push(
        `WARNING: the noise on ${name} (±${scale}) is ${Number.isFinite(share) ? `${Math.round(share * 100)}% of` : 'larger than'} a typical group's value: answers would be mostly noise. Raise ε, tighten ${name === 'units' ? 'maxGroupsPerUnit' : 'its bounds'}, or group by fewer dimensions.`,
      );
  }
  return [...lines, ...warnings].join('\n');
}
