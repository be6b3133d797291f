import type { QueryTemplate } from './template';

/**
 * The groups an encrypted answer is laid out over, in order: the cross product of the template's
 * declared dimension domains (first dimension slowest). Derived from the signed template alone, so every seller encodes the
 * same order and the order says nothing about any seller's data.
 */
export function domainGroups(template: QueryTemplate): string[][] {
  const domain = template.groupDomain;
  if (!domain) throw new Error(`template ${template.id} declares no groupDomain`);
  let groups: string[][] = [[]];
  for (const dimension of template.dimensions) {
    const spec = domain[dimension]!;
    const values = Array.isArray(spec)
      ? spec
      : Array.from({ length: spec.to - spec.from + 1 }, (_, i) => String(spec.from + i));
    groups = groups.flatMap((prefix) => values.map((value) => [...prefix, value]));
  }
  return groups;
}

/** The released quantities an encrypted answer carries: counts and sums (averages are derived). */
export function encodedQuantities(template: QueryTemplate): string[] {
  return template.metrics.filter((metric) => metric.aggregate !== 'avg').map((metric) => metric.name);
}

export const groupKey = (cells: readonly unknown[]) => JSON.stringify(cells.map(String));
