import { noisePlan } from './noise-plan';
import type { MetricSpec, QueryTemplate } from './template';

const round = (value: number) => Math.round(value * 100) / 100;

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

function describeParameter([name, spec]: [string, QueryTemplate['parameters'][string]]): string {
  const range =
    spec.type === 'integer'
      ? `a whole number from ${spec.min} to ${spec.max}`
      : `one of ${spec.values.join(', ')}`;
  return `  - ${name}: ${range}${spec.description ? ` (${spec.description})` : ''}`;
}

/** A template's output shape and privacy settings in plain words, for the seller who signs it. */
export function explainTemplate(template: QueryTemplate): string {
  const plan = noisePlan(template);
  const unit = template.privacyUnit;
  const mechanism =
    template.privacy.mechanism === 'discrete_laplace' ? 'discrete Laplace' : 'discrete Gaussian';
  const small =
    template.suppression === 'drop'
      ? `Groups with fewer than ${template.minCohortSize} distinct ${unit} values are withheld.`
      : `Groups with fewer than ${template.minCohortSize} distinct ${unit} values are folded into one "*" row, itself withheld if it has fewer than ${template.minCohortSize}.`;
  const sums = Object.entries(plan.sumScales).map(
    ([name, scale]) => `±${round(scale)} on the sum behind ${name}`,
  );
  return [
    `${template.id} v${template.version} by ${template.seller}: ${template.title}`,
    template.description,
    '',
    `Reads dataset ${template.dataset}. The buyer chooses:`,
    ...Object.entries(template.parameters).map(describeParameter),
    '',
    `Answers one row per ${template.dimensions.join(' × ')} with:`,
    ...template.metrics.map((metric) => `  - ${describeMetric(metric, unit)}`),
    '',
    'Privacy:',
    `  - ${small}`,
    `  - A ${unit} found in more than ${template.maxGroupsPerUnit} groups is left out entirely.`,
    `  - Every number gets ${mechanism} noise; one answer costs ε = ${template.privacy.epsilon}${template.privacy.mechanism === 'discrete_gaussian' ? ` (δ = ${template.privacy.delta})` : ''}.`,
    `    Noise scale: ±${round(plan.countScale)} on counts${sums.length > 0 ? `, ${sums.join(', ')}` : ''}.`,
    `  - Each buyer may spend ε = ${template.budget.epsilon} on ${template.dataset} per ${template.budget.windowDays} days; asking the same question again inside that window returns the same answer and costs nothing.`,
    '',
    `Allowed for: jurisdictions ${template.compliance.jurisdictions.join(', ')}; purposes ${template.compliance.purposes.join(', ')}.`,
    `The buyer must accept data classes: ${template.compliance.dataClasses.join(', ')}.`,
    `Multi-seller encrypted sums: ${template.multiSeller ? 'allowed' : 'not allowed'}. Private selection (the buyer picks groups under encryption): ${template.privateSelection ? 'allowed' : 'not allowed'}. Price: ${template.price}.`,
  ].join('\n');
}
