import { z } from 'zod';
import {
  compareValues,
  constraintParts,
  constraintRules,
  parameterSpecRules,
  valueSchema,
} from './parameter-values';
import { MAX_ROWS_BYTES, rowsBytesBound } from './result-size';

/** SQL identifiers a template may name: lower-case, so the perimeter can quote them without escaping. */
export const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier');
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes');

/** A calendar date as `YYYY-MM-DD`; zod checks the month and day exist (leap years included). */
const isoDate = z.iso.date();
/** DECIMAL(18, s): DuckDB's widest decimal held in 64 bits. */
export const DECIMAL_WIDTH = 18;
const MAX_DECIMAL_SCALE = 12;

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
  /** A calendar date, written `YYYY-MM-DD` (ISO 8601); bound into DuckDB as a DATE. */
  z.strictObject({
    type: z.literal('date'),
    min: isoDate,
    max: isoDate,
    description: z.string().optional(),
  }),
  /**
   * An exact decimal, written as a string with exactly `scale` digits after the point ("12.50" at
   * scale 2; no point at scale 0), so no value passes through a binary float; bound into DuckDB as
   * DECIMAL(18, scale).
   */
  z.strictObject({
    type: z.literal('decimal'),
    scale: z.int().min(0).max(MAX_DECIMAL_SCALE),
    min: z.string(),
    max: z.string(),
    description: z.string().optional(),
  }),
]);
export type ParameterSpec = z.infer<typeof parameterSpec>;

/** A rule between two parameters, both of one ordered type: the first is at most (or below) the second. */
export const parameterConstraint = z.union([
  z.strictObject({ lessOrEqual: z.tuple([identifier, identifier]) }),
  z.strictObject({ lessThan: z.tuple([identifier, identifier]) }),
]);
export type ParameterConstraint = z.infer<typeof parameterConstraint>;

export const metricSpec = z.discriminatedUnion('aggregate', [
  /** Distinct privacy units in the group. */
  z.strictObject({ name: identifier, aggregate: z.literal('count_units') }),
  /** Each privacy unit's total in a group is clamped to [min, max]: the bounds are the sensitivity. */
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

/**
 * δ of private partition selection: the chance that a group existing only because of one person is
 * released. Required when the template declares no groupDomain, and only then.
 */
const selectionDelta = z.number().positive().max(1e-5).optional();

export const privacySpec = z.discriminatedUnion('mechanism', [
  /** Pure ε-DP per answer (basic composition). */
  z.strictObject({
    mechanism: z.literal('discrete_laplace'),
    epsilon: z.number().positive().max(10),
    selectionDelta,
  }),
  /** (ε, δ)-DP per answer through zCDP, valid for any ε up to 10 (no ε < 1 restriction). */
  z.strictObject({
    mechanism: z.literal('discrete_gaussian'),
    epsilon: z.number().positive().max(10),
    delta: z.number().positive().max(1e-5),
    selectionDelta,
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
    /** Rules between parameters, checked by the API and again by the perimeter: e.g. from ≤ to. */
    constraints: z.array(parameterConstraint).optional(),
    dimensions: z.array(identifier).min(1),
    metrics: z.array(metricSpec).min(1),
    privacyUnit: identifier,
    /** A unit found in more groups than this is left out: it bounds what one person can change. */
    maxGroupsPerUnit: z.int().min(1).max(100),
    /** A group whose noisy count is under k is withheld; k is never applied to an exact count. */
    minCohortSize: z.int().min(2),
    /**
     * Noise on every released number; what one answer costs. Budgets are the seller's, set in the
     * perimeter's signed dataset policy, never in a template.
     */
    privacy: privacySpec,
    /**
     * Whether sponsors may check grant milestones on this template, at what cost per milestone (one
     * sparse-vector run, charged at its first check) and with how many checks at most.
     */
    milestones: z
      .strictObject({ epsilon: z.number().positive().max(10), maxChecks: z.int().min(1).max(100) })
      .optional(),
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
     * Every value each dimension can take, in order. When declared, every group of the domain is
     * released (empty ones too, each with noise) and encrypted answers are laid out over it; when
     * absent, groups are chosen by private partition selection. Declared by the seller, never read
     * from data, so which groups appear says nothing about any one person. Required for HE answers.
     */
    groupDomain: z.record(identifier, dimensionDomain).optional(),
    /**
     * Without a groupDomain: the most groups one answer holds (default 1000). Sealed answers are
     * padded to this many rows' worth of bytes, so their size says nothing about how many were
     * released; when more pass the noisy threshold, those with the highest noisy counts are kept.
     */
    maxGroups: z.int().min(1).max(MAX_DOMAIN_GROUPS).optional(),
    /**
     * The review a buyer's proposal went through before the seller signed it
     * (workflows/template-review/): an auditor replays from it how the template was approved.
     */
    review: z.strictObject({ reviewId: slug }).optional(),
  })
  .superRefine((template, ctx) => {
    for (const [name, spec] of Object.entries(template.parameters))
      parameterSpecRules(name, spec, DECIMAL_WIDTH, ctx);
    for (const [index, constraint] of (template.constraints ?? []).entries())
      constraintRules(template.parameters, constraint, index, ctx);
    for (const [index, metric] of template.metrics.entries()) {
      if (metric.aggregate !== 'count_units' && metric.min > metric.max) {
        ctx.addIssue({ code: 'custom', path: ['metrics', index], message: 'min is above max' });
      }
    }
    const names = [...template.dimensions, ...template.metrics.map((m) => m.name)];
    if (new Set(names).size !== names.length) {
      ctx.addIssue({ code: 'custom', path: ['metrics'], message: 'output column names must be unique' });
    }
    if (template.groupDomain) domainRules(template, ctx);
    if (template.multiSeller || template.privateSelection) heRules(template, ctx);
    if (!template.groupDomain && template.privacy.selectionDelta === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['privacy', 'selectionDelta'],
        message: 'without a groupDomain, groups are chosen by private partition selection: declare its δ',
      });
    }
    const domainNamesEvery = template.dimensions.every(
      (d) => !template.groupDomain || d in template.groupDomain,
    );
    if (domainNamesEvery && rowsBytesBound(template) > MAX_ROWS_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: [template.groupDomain ? 'groupDomain' : 'maxGroups'],
        message: `every sealed answer is padded to its largest possible size, here ${rowsBytesBound(template)} bytes of rows, above ${MAX_ROWS_BYTES}: declare fewer groups (or a smaller maxGroups)`,
      });
    }
    if (template.groupDomain && template.maxGroups !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxGroups'],
        message: 'a declared groupDomain fixes the groups: maxGroups is for partition selection only',
      });
    }
    if (template.groupDomain && template.privacy.selectionDelta !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['privacy', 'selectionDelta'],
        message: 'a declared groupDomain releases every group: there is no partition selection to charge',
      });
    }
  });
export type QueryTemplate = z.infer<typeof queryTemplate>;

/** A declared domain names every dimension and only those, with unique values, and is not too large. */
function domainRules(template: Pick<QueryTemplate, 'groupDomain' | 'dimensions'>, ctx: z.RefinementCtx) {
  const domain = template.groupDomain!;
  const declared = Object.keys(domain);
  if (declared.length !== template.dimensions.length || !template.dimensions.every((d) => d in domain)) {
    ctx.addIssue({
      code: 'custom',
      path: ['groupDomain'],
      message: 'a groupDomain names every dimension, and only those',
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
}

/** What encrypted answers need: a declared domain, non-negative sums, something to encode. */
function heRules(template: Pick<QueryTemplate, 'groupDomain' | 'metrics'>, ctx: z.RefinementCtx) {
  if (!template.groupDomain) {
    ctx.addIssue({
      code: 'custom',
      path: ['groupDomain'],
      message: 'encrypted answers need a groupDomain naming every dimension',
    });
    return;
  }
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

/** A missing parameter says "required", not the type's own complaint about undefined. */
const requiredValue = (schema: z.ZodType<string | number>) =>
  z
    .any()
    .refine((value) => value !== undefined, { message: 'required', abort: true })
    .pipe(schema);

/**
 * A zod schema for one template's parameters: every declared one present, of its type and in
 * bounds, nothing else, and every declared constraint between them holding.
 */
export function parametersSchema(template: Pick<QueryTemplate, 'parameters' | 'constraints'>) {
  const shape: Record<string, z.ZodType<string | number, unknown>> = {};
  for (const [name, spec] of Object.entries(template.parameters))
    shape[name] = requiredValue(valueSchema(spec, DECIMAL_WIDTH));
  return z.strictObject(shape).superRefine((values, ctx) => {
    for (const constraint of template.constraints ?? []) {
      const { first, second, strict } = constraintParts(constraint);
      const spec = template.parameters[first];
      if (!spec || values[first] === undefined || values[second] === undefined) continue;
      const order = compareValues(spec, values[first], values[second]);
      if (order > 0 || (strict && order === 0))
        ctx.addIssue({
          code: 'custom',
          path: [first],
          message: `${first} (${values[first]}) must be ${strict ? 'below' : 'at most'} ${second} (${values[second]})`,
        });
    }
  });
}
