import { DuckDBDateValue, DuckDBDecimalValue, type DuckDBValue } from '@duckdb/node-api';
import { scaledDecimal } from '../../query-policies/parameter-values';
import { DECIMAL_WIDTH, type ParameterValues, type QueryTemplate } from '../../query-policies/template';

/**
 * A deal's validated parameters as typed DuckDB values, bound to the statement's `$name`s (never
 * spliced into its text): a date as DATE, a decimal as DECIMAL(18, scale) from its exact digits.
 */
export function boundParameters(
  template: Pick<QueryTemplate, 'parameters'>,
  values: ParameterValues,
): Record<string, DuckDBValue> {
  const bound: Record<string, DuckDBValue> = {};
  for (const [name, value] of Object.entries(values)) {
    const spec = template.parameters[name];
    if (spec?.type === 'date') {
      const [year, month, day] = String(value).split('-').map(Number) as [number, number, number];
      bound[name] = DuckDBDateValue.fromParts({ year, month, day });
    } else if (spec?.type === 'decimal') {
      bound[name] = new DuckDBDecimalValue(scaledDecimal(String(value)), DECIMAL_WIDTH, spec.scale);
    } else {
      bound[name] = value;
    }
  }
  return bound;
}
