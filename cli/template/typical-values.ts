import { DuckDBInstance } from '@duckdb/node-api';
import type { TypicalGroups } from '../../query-policies/explain';
import type { QueryTemplate } from '../../query-policies/template';
import { CliError } from '../common';

const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The median group of the template's dimensions over the seller's whole table: its distinct units
 * and each bounded sum (an average's too) (rows clamped to the metric's bounds). Read on the seller's machine from the
 * seller's own data, to compare with the noise before signing; nothing leaves. The template's
 * parameters are not applied (they are the buyer's), so a buyer's narrower cohort has smaller groups.
 */
export async function typicalGroups(template: QueryTemplate, datasetPath: string): Promise<TypicalGroups> {
  const instance = await DuckDBInstance.create(datasetPath, { access_mode: 'READ_ONLY' }).catch(
    (error: Error) => {
      throw new CliError(`cannot open dataset ${datasetPath}: ${error.message}`);
    },
  );
  const connection = await instance.connect();
  const quantities = [
    `count(DISTINCT ${quoted(template.privacyUnit)}) AS units`,
    ...template.metrics.flatMap((metric) =>
      metric.aggregate !== 'count_units'
        ? [
            `sum(least(greatest(${quoted(metric.column)}, ${metric.min}), ${metric.max}))::DOUBLE AS ${quoted(metric.name)}`,
          ]
        : [],
    ),
  ];
  // An average is released as a noisy sum over the noisy count: its sum is what the noise hides.
  const names = [
    'units',
    ...template.metrics.filter((m) => m.aggregate !== 'count_units').map((m) => m.name),
  ];
  const sql =
    `WITH g AS (SELECT ${quantities.join(', ')} FROM ${quoted(template.dataset)} ` +
    `GROUP BY ${template.dimensions.map(quoted).join(', ')}) ` +
    `SELECT count(*) AS groups, ${names.map((n) => `median(${quoted(n)})::DOUBLE AS ${quoted(n)}`).join(', ')} FROM g`;
  try {
    const row = (
      await connection.runAndReadAll(sql).catch((error: Error) => {
        throw new CliError(`cannot read typical groups from ${datasetPath}: ${error.message}`);
      })
    ).getRowObjectsJson()[0]!;
    const medians = Object.fromEntries(names.map((name) => [name, Number(row[name] ?? 0)]));
    return { groups: Number(row.groups), medians };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
