import { z } from 'zod';
import type { ParameterConstraint, ParameterSpec } from './template';

/** A decimal at `scale` as text: optional minus, whole digits, and exactly `scale` after the point. */
export function decimalPattern(scale: number, width: number): RegExp {
  const whole = `(0|[1-9][0-9]{0,${Math.max(width - scale - 1, 0)}})`;
  return new RegExp(`^-?${whole}${scale > 0 ? `\\.[0-9]{${scale}}` : ''}$`);
}

/** The decimal's value times 10^scale, exactly: what DuckDB's DECIMAL holds. */
export function scaledDecimal(text: string): bigint {
  return BigInt(text.replace('.', ''));
}

const DATE_TEXT = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
const DECIMAL_TEXT = /^-?[0-9]+(\.[0-9]+)?$/;

/**
 * Negative, zero or positive as a is below, equal to or above b, in the parameter's own order;
 * NaN when either is not a value of that type (its own check reports that).
 */
export function compareValues(spec: ParameterSpec, a: string | number, b: string | number): number {
  switch (spec.type) {
    case 'integer':
      return Number(a) - Number(b);
    case 'date':
      if (!DATE_TEXT.test(String(a)) || !DATE_TEXT.test(String(b))) return Number.NaN;
      // YYYY-MM-DD sorts as text in calendar order.
      return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
    case 'decimal': {
      if (!DECIMAL_TEXT.test(String(a)) || !DECIMAL_TEXT.test(String(b))) return Number.NaN;
      const difference = scaledDecimal(String(a)) - scaledDecimal(String(b));
      return difference < 0n ? -1 : difference > 0n ? 1 : 0;
    }
    case 'enum':
      return Number.NaN;
  }
}

/** The schema one parameter's value must pass: its type, then its declared bounds. */
export function valueSchema(spec: ParameterSpec, width: number): z.ZodType<string | number> {
  switch (spec.type) {
    case 'integer':
      return z.int().min(spec.min).max(spec.max);
    case 'enum':
      return z.enum(spec.values as [string, ...string[]]);
    case 'date':
      return z.iso
        .date('a date written YYYY-MM-DD')
        .refine((value) => value >= spec.min && value <= spec.max, `a date from ${spec.min} to ${spec.max}`);
    case 'decimal':
      return z
        .string()
        .regex(
          decimalPattern(spec.scale, width),
          `a decimal written with exactly ${spec.scale} decimal places`,
        )
        .refine(
          (value) => compareValues(spec, value, spec.min) >= 0 && compareValues(spec, value, spec.max) <= 0,
          `a decimal from ${spec.min} to ${spec.max}`,
        );
  }
}

export function constraintParts(constraint: ParameterConstraint) {
  return 'lessOrEqual' in constraint
    ? { first: constraint.lessOrEqual[0], second: constraint.lessOrEqual[1], strict: false }
    : { first: constraint.lessThan[0], second: constraint.lessThan[1], strict: true };
}

/** A parameter's declaration is consistent: bounds in order, a decimal's bounds written at its scale. */
export function parameterSpecRules(name: string, spec: ParameterSpec, width: number, ctx: z.RefinementCtx) {
  const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['parameters', name], message });
  if (spec.type === 'decimal') {
    const pattern = decimalPattern(spec.scale, width);
    if (!pattern.test(spec.min) || !pattern.test(spec.max))
      return issue(`min and max must be written with exactly ${spec.scale} decimal places`);
  }
  if (
    (spec.type === 'integer' || spec.type === 'date' || spec.type === 'decimal') &&
    compareValues(spec, spec.min, spec.max) > 0
  )
    issue('min is above max');
}

/** A constraint names two declared parameters of one ordered type (decimals of one scale). */
export function constraintRules(
  parameters: Record<string, ParameterSpec>,
  constraint: ParameterConstraint,
  index: number,
  ctx: z.RefinementCtx,
) {
  const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['constraints', index], message });
  const { first, second } = constraintParts(constraint);
  const a = parameters[first];
  const b = parameters[second];
  if (!a || !b) return issue(`a constraint names only declared parameters (${first}, ${second})`);
  if (first === second) return issue('a constraint compares two different parameters');
  if (a.type === 'enum' || a.type !== b.type)
    return issue('a constraint compares two integers, dates or decimals');
  if (a.type === 'decimal' && b.type === 'decimal' && a.scale !== b.scale)
    issue('a constraint compares decimals of one scale');
}
