/**
 * The functions a template's SQL may call, by allow-list. Derived from DuckDB 1.5's catalog
 * (`SELECT function_name, function_type, stability FROM duckdb_functions()`) and reviewed by hand:
 * only pure, deterministic functions of their arguments. Left out on purpose, whatever the catalog
 * says about them:
 * - anything that reads files, the network, settings, variables or the catalog (read_*, glob,
 *   getenv, current_setting, getvariable, duckdb_*, pragma_*, current_database, version, ...);
 * - anything that raises on purpose (error) or has side effects (write_log, setseed, nextval, sleep_ms);
 * - anything whose value depends on when or how often it runs (now, current_date, today, age with
 *   one argument, random, uuid, gen_random_uuid, txid_current, ...);
 * - SQL-in-SQL (query, json_serialize_sql, json_execute_serialized_sql) and anything taking a
 *   lambda, a struct, a map or JSON: not needed for a row-level cohort, and each adds surface.
 * A test checks every name below against the catalog: it exists, is CONSISTENT and has no side
 * effects. Names are lower-case; DuckDB matches function names case-insensitively.
 */

const OPERATORS = [
  ...['+', '-', '*', '/', '//', '%', '**', '^', '@'], // arithmetic (@ is abs)
  ...['&', '|', '<<', '>>', '~', 'xor'], // bitwise
  '||', // concatenation
  ...['~~', '!~~', '~~*', '!~~*', '~~~'], // LIKE, NOT LIKE, ILIKE, NOT ILIKE, GLOB (on strings)
  '^@', // starts_with
];

const MATH = [
  ...['abs', 'sign', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'even', 'mod', 'divide'],
  ...['add', 'subtract', 'multiply', 'greatest', 'least', 'gcd', 'lcm'],
  ...['sqrt', 'cbrt', 'exp', 'ln', 'log', 'log2', 'log10', 'pow', 'power', 'pi'],
  ...['sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2', 'degrees', 'radians'],
  ...['isnan', 'isinf', 'isfinite'],
];

const STRINGS = [
  ...['lower', 'upper', 'lcase', 'ucase', 'length', 'char_length', 'character_length', 'strlen'],
  ...['concat', 'concat_ws', 'substring', 'substr', 'left', 'right', 'lpad', 'rpad'],
  ...['trim', 'ltrim', 'rtrim', 'replace', 'reverse', 'translate', 'strip_accents'],
  ...['position', 'strpos', 'instr', 'contains', 'starts_with', 'ends_with', 'prefix', 'suffix'],
  ...['like_escape', 'not_like_escape', 'ilike_escape', 'not_ilike_escape'],
  ...['regexp_matches', 'regexp_full_match', 'regexp_replace', 'regexp_extract', 'split_part'],
  ...['ascii', 'chr', 'unicode'],
];

/** Dates and times: only functions of their arguments (no current_date, now, one-argument age). */
const DATES = [
  ...['date_part', 'datepart', 'date_trunc', 'datetrunc', 'date_diff', 'datediff', 'date_sub', 'datesub'],
  ...['date_add', 'time_bucket', 'last_day', 'make_date', 'make_time', 'make_timestamp'],
  ...['year', 'quarter', 'month', 'week', 'weekofyear', 'day', 'dayofmonth', 'dayofweek', 'dayofyear'],
  ...['weekday', 'isodow', 'isoyear', 'hour', 'minute', 'second', 'dayname', 'monthname'],
  ...['strftime', 'strptime', 'try_strptime', 'epoch', 'epoch_ms'],
  ...['to_days', 'to_weeks', 'to_months', 'to_years', 'to_hours', 'to_minutes', 'to_seconds'], // INTERVAL n UNIT
];

/** Conditionals written as functions (CASE, COALESCE, IN, BETWEEN are syntax, always allowed). */
const CONDITIONALS = ['nullif'];

/** Scalar functions and operators a template's SQL may call. */
export const ALLOWED_SCALAR_FUNCTIONS: ReadonlySet<string> = new Set([
  ...OPERATORS,
  ...MATH,
  ...STRINGS,
  ...DATES,
  ...CONDITIONALS,
]);

/**
 * Table functions a template may read from: they generate rows and read nothing. Each one's
 * output column is named after the function unless the template renames it (range(3) r(i)).
 */
export const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set(['range', 'generate_series', 'unnest']);

/**
 * Aggregates: refused everywhere in a template's row-level SQL (the perimeter groups, counts and
 * bounds sums itself). Only the perimeter's own wrapper around it may call these, and the lint
 * checks that the statement the perimeter runs calls nothing else.
 */
export const ALLOWED_AGGREGATE_FUNCTIONS: ReadonlySet<string> = new Set([
  'count',
  'count_star',
  'sum',
  'avg',
]);

/**
 * Every aggregate in DuckDB 1.5's catalog (function_type = 'aggregate', and the aggregate macros),
 * named so that the lint can say "aggregate" rather than "not allowed". Window-only functions
 * (row_number, rank, lag, lead, ...) parse as window expressions and are refused as such.
 */
export const KNOWN_AGGREGATES: ReadonlySet<string> = new Set([
  ...['any_value', 'approx_count_distinct', 'approx_quantile', 'approx_top_k', 'arbitrary'],
  ...['arg_max', 'arg_max_null', 'arg_max_nulls_last', 'arg_min', 'arg_min_null', 'arg_min_nulls_last'],
  ...['argmax', 'argmin', 'array_agg', 'avg', 'bit_and', 'bit_or', 'bit_xor', 'bitstring_agg'],
  ...['bool_and', 'bool_or', 'corr', 'count', 'count_if', 'count_star', 'countif', 'covar_pop'],
  ...['covar_samp', 'entropy', 'favg', 'first', 'fsum', 'geomean', 'geometric_mean', 'group_concat'],
  ...['histogram', 'histogram_exact', 'json_group_array', 'json_group_object', 'json_group_structure'],
  ...['kahan_sum', 'kurtosis', 'kurtosis_pop', 'last', 'list', 'listagg', 'mad', 'max', 'max_by'],
  ...['mean', 'median', 'min', 'min_by', 'mode', 'product', 'quantile', 'quantile_cont', 'quantile_disc'],
  ...['regr_avgx', 'regr_avgy', 'regr_count', 'regr_intercept', 'regr_r2', 'regr_slope', 'regr_sxx'],
  ...['regr_sxy', 'regr_syy', 'reservoir_quantile', 'sem', 'skewness', 'stddev', 'stddev_pop'],
  ...['stddev_samp', 'string_agg', 'sum', 'sum_no_overflow', 'sumkahan', 'var_pop', 'var_samp'],
  ...['variance', 'wavg', 'weighted_avg'],
]);

/**
 * SQL value keywords DuckDB parses as column references and binds as functions when no column has
 * that name (`SELECT current_date` works without parentheses). All depend on when or where the
 * query runs, so a bare name from this list is refused unless it is a column the lint knows.
 */
export const KEYWORD_FUNCTIONS: ReadonlySet<string> = new Set([
  ...['current_date', 'current_time', 'current_timestamp', 'localtime', 'localtimestamp'],
  ...['current_user', 'current_role', 'session_user', 'user', 'current_catalog', 'current_schema'],
]);
