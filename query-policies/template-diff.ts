import { canonicalJson } from '../lib/canonical-json';

/** One top-level field where a draft differs from a template: its value in each. */
export interface FieldDifference {
  field: string;
  draft: unknown;
  existing: unknown;
}

/** Fields the draft and an existing template (or its catalog summary) both could hold, compared as canonical JSON. */
export function fieldDifferences(
  draft: Record<string, unknown>,
  existing: Record<string, unknown>,
): FieldDifference[] {
  const fields = Object.keys(draft).filter(
    (field) => field in existing && field !== 'id' && field !== 'version',
  );
  return fields
    .filter((field) => canonicalJson(draft[field] ?? null) !== canonicalJson(existing[field] ?? null))
    .map((field) => ({ field, draft: draft[field], existing: existing[field] }));
}

/** The existing template that differs from the draft in the fewest fields, with those differences. */
export function nearestTemplate<T extends Record<string, unknown>>(
  draft: Record<string, unknown>,
  existing: T[],
): { template: T; differences: FieldDifference[] } | undefined {
  let nearest: { template: T; differences: FieldDifference[] } | undefined;
  for (const template of existing) {
    const differences = fieldDifferences(draft, template);
    if (!nearest || differences.length < nearest.differences.length) nearest = { template, differences };
  }
  return nearest;
}
