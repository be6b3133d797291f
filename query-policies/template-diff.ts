import { canonicalJson } from '../lib/canonical-json';
import type { QueryTemplate } from './template';

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

/** What the seller may choose when it signs a proposed draft: the price and allowed uses; it names the review. */
const SELLER_CHOSEN: (keyof QueryTemplate | 'review')[] = ['price', 'compliance', 'review'];

function withoutSellerChoices(template: QueryTemplate): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...template };
  for (const key of SELLER_CHOSEN) delete rest[key];
  return rest;
}

/** Whether a template the seller is about to sign is the draft it read, but for its price and uses. */
export const differsBeyondSellerChoices = (template: QueryTemplate, draft: QueryTemplate): boolean =>
  canonicalJson(withoutSellerChoices(template)) !== canonicalJson(withoutSellerChoices(draft));
