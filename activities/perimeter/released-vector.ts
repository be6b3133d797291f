import { domainGroups, encodedQuantities, groupKey } from '../../query-policies/group-domain';
import type { QueryTemplate } from '../../query-policies/template';
import type { ReleasedTable } from '../../lib/released-table';

/**
 * The released table as values[group][quantity] over the template's declared domain. The table
 * already holds every group of the domain (see releasePrivately); a group whose numbers are withheld
 * (noisy count under k) is zero. Only released, noised numbers go in, so the encrypted vector carries
 * nothing the plain answer would not.
 */
export function releasedVector(template: QueryTemplate, table: ReleasedTable) {
  const groups = domainGroups(template);
  const index = new Map(groups.map((cells, i) => [groupKey(cells), i]));
  const quantities = encodedQuantities(template);
  const columns = quantities.map((name) => table.columns.indexOf(name));
  const values = groups.map(() => quantities.map(() => 0n));
  for (const row of table.rows) {
    const at = index.get(groupKey(row.slice(0, template.dimensions.length)));
    if (at === undefined) continue;
    values[at] = columns.map((column) => BigInt(Math.max(0, Math.round(Number(row[column] ?? 0)))));
  }
  return { quantities, values };
}
