import { z } from 'zod';

/** SQL identifiers a template may name: lower-case, so the perimeter can quote them without escaping. */
export const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier');
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes');

export const parameterSpec = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('integer'),
    min: z.int(),
    max: z.int(),
    description: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('enum'),
    values: z.array(z.string().min(1)).min(1),
    description: z.string().optional(),
  }),
]);
export type ParameterSpec = z.infer<typeof parameterSpec>;

export const metricSpec = z.discriminatedUnion('aggregate', [
  /** Distinct privacy units in the group. */
  z.strictObject({ name: identifier, aggregate: z.literal('count_units') }),
  /** Each row's value is clamped to [min, max] before aggregation: the bounds are the sensitivity. */
  z.strictObject({
    name: identifier,
    aggregate: z.enum(['sum', 'avg']),
    column: identifier,
    min: z.number(),
    max: z.number(),
  }),
]);
export type MetricSpec = z.infer<typeof metricSpec>;

const countryOrRegion = z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 two-letter code, e.g. US or DE');
const policyTag = z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'lower-case words joined by dashes');

export const privacySpec = z.discriminatedUnion('mechanism', [
  z.strictObject({ mechanism: z.literal('discrete_laplace'), epsilon: z.number().positive().max(10) }),
  z.strictObject({
    mechanism: z.literal('discrete_gaussian'),
    epsilon: z.number().positive().max(10),
    delta: z.number().positive().max(1e-3),
  }),
]);
export type PrivacySpec = z.infer<typeof privacySpec>;

/** One dimension's possible values: listed, or a range of whole numbers (written as decimal text). */
export const dimensionDomain = z.union([
  z.array(z.string().min(1)).min(1),
  z.strictObject({ from: z.int(), to: z.int() }),
]);
export type DimensionDomain = z.infer<typeof dimensionDomain>;

/** Groups an encrypted answer may be laid out over (cross product of the dimensions' domains). */
export const MAX_DOMAIN_GROUPS = 65_536;

export const queryTemplate = z
  .strictObject({
    id: slug,
    version: z.int().min(1),
    seller: slug,
    title: z.string().min(1),
    description: z.string().min(1),
    dataset: identifier,
    /** One row-level SELECT in DuckDB's dialect; `$name` parameters; the perimeter aggregates it. */
    sql: z.string().min(1),
    parameters: z.record(identifier, parameterSpec),
    dimensions: z.array(identifier).min(1),
    metrics: z.array(metricSpec).min(1),
    privacyUnit: identifier,
    /** A unit found in more groups than this is left out: it bounds what one person can change. */
    maxGroupsPerUnit: z.int().min(1).max(100),
    minCohortSize: z.int().min(2),
    /** Groups under k: dropped, or folded into one remainder row (itself dropped if under k). */
    suppression: z.enum(['drop', 'remainder']),
    /** Noise on every released number; epsilon is what one answer costs the buyer's budget. */
    privacy: privacySpec,
    /** What one buyer may spend on this seller's dataset per window. */
    budget: z.strictObject({ epsilon: z.number().positive().max(100), windowDays: z.int().min(1).max(3660) }),
    /** Price of one answer, in the settlement currency's smallest unit. */
    price: z.string().regex(/^[1-9][0-9]{0,30}$/, 'a positive whole number of smallest units'),
    compliance: z.strictObject({
      jurisdictions: z.array(countryOrRegion).min(1),
      purposes: z.array(policyTag).min(1),
      /** Classes of data the answer derives from; a buyer must accept each of them. */
      dataClasses: z.array(policyTag).min(1),
    }),
    /** Whether this template may run in several sellers' perimeters and be summed under encryption. */
    multiSeller: z.boolean(),
    /** Whether a buyer may pick groups under encryption, so nobody but it learns which it chose. */
    privateSelection: z.boolean(),
    /**
     * Every value each dimension can take, in order: encrypted answers are laid out over their cross
     * product (then the remainder row). Declared by the seller, never read from data, so the layout
     * reveals nothing about which groups exist in any perimeter. Required for HE answers.
     */
    groupDomain: z.record(identifier, dimensionDomain).optional(),
  })
  .superRefine((template, ctx) => {
    for (const [name, spec] of Object.entries(template.parameters)) {
      if (spec.type === 'integer' && spec.min > spec.max) {
        ctx.addIssue({ code: 'custom', path: ['parameters', name], message: 'min is above max' });
      }
    }
    for (const [index, metric] of template.metrics.entries()) {
      if (metric.aggregate !== 'count_units' && metric.min > metric.max) {
        ctx.addIssue({ code: 'custom', path: ['metrics', index], message: 'min is above max' });
      }
    }
    const names = [...template.dimensions, ...template.metrics.map((m) => m.name)];
    if (new Set(names).size !== names.length) {
      ctx.addIssue({ code: 'custom', path: ['metrics'], message: 'output column names must be unique' });
    }
    if (template.multiSeller || template.privateSelection) heRules(template, ctx);
    if (template.privacy.epsilon > template.budget.epsilon) {
      ctx.addIssue({
        code: 'custom',
        path: ['privacy', 'epsilon'],
        message: 'one answer costs more than the whole budget',
      });
    }
  });
export type QueryTemplate = z.infer<typeof queryTemplate>;

/** What encrypted answers need: a declared domain, non-negative sums, something to encode. */
function heRules(
  template: Pick<QueryTemplate, 'groupDomain' | 'dimensions' | 'metrics'>,
  ctx: z.RefinementCtx,
) {
  const domain = template.groupDomain;
  const declared = Object.keys(domain ?? {});
  if (
    !domain ||
    declared.length !== template.dimensions.length ||
    !template.dimensions.every((d) => d in domain)
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['groupDomain'],
      message: 'encrypted answers need a groupDomain naming every dimension, and only those',
    });
    return;
  }
  let groups = 1;
  for (const [name, values] of Object.entries(domain)) {
    const size = Array.isArray(values) ? new Set(values).size : values.to - values.from + 1;
    if (Array.isArray(values) && size !== values.length)
      ctx.addIssue({ code: 'custom', path: ['groupDomain', name], message: 'values must be unique' });
    if (size < 1) ctx.addIssue({ code: 'custom', path: ['groupDomain', name], message: 'from is above to' });
    groups *= Math.max(size, 1);
  }
  if (groups > MAX_DOMAIN_GROUPS)
    ctx.addIssue({ code: 'custom', path: ['groupDomain'], message: `more than ${MAX_DOMAIN_GROUPS} groups` });
  const encoded = template.metrics.filter((m) => m.aggregate !== 'avg');
  if (encoded.length === 0)
    ctx.addIssue({
      code: 'custom',
      path: ['metrics'],
      message: 'encrypted answers need a count or sum metric',
    });
  for (const [index, metric] of template.metrics.entries())
    if (metric.aggregate !== 'count_units' && metric.min < 0)
      ctx.addIssue({ code: 'custom', path: ['metrics', index], message: 'encrypted sums need min >= 0' });
}

export type ParameterValues = Record<string, string | number>;

/** A zod schema for one template's parameters: every declared one present, in bounds, nothing else. */
export function parametersSchema(template: QueryTemplate) {
  const shape: Record<string, z.ZodType<string | number>> = {};
  for (const [name, spec] of Object.entries(template.parameters)) {
    switch (spec.type) {
      case 'integer':
        shape[name] = z.int().min(spec.min).max(spec.max);
        break;
      case 'enum':
        shape[name] = z.enum(spec.values as [string, ...string[]]);
        break;
    }
  }
  return z.strictObject(shape);
}
