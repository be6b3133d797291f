import { DuckDBInstance } from '@duckdb/node-api';

export const TARGET = { personId: 9999, age: 77, zip3: '100', diagnosis: 'I10', cost: 3999 };

/**
 * A small patients dataset an attacker would love: 300 ordinary patients in each of two groups
 * (ages 20–59) and one target patient, aged 77, alone in that age.
 */
export async function createTargetDataset(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    await connection.run(`CREATE TABLE patients AS
      SELECT i AS person_id, 20 + (i % 40) AS age, 'F' AS sex,
             CASE WHEN i % 2 = 0 THEN '100' ELSE '101' END AS zip3,
             CASE WHEN i % 2 = 0 THEN 'I10' ELSE 'E11' END AS diagnosis_code,
             (100 + i % 900)::DECIMAL(10, 2) AS cost, DATE '2025-01-01' AS visit_date
      FROM range(1, 601) t(i)`);
    await connection.run(
      `INSERT INTO patients VALUES (${TARGET.personId}, ${TARGET.age}, 'F', '${TARGET.zip3}', '${TARGET.diagnosis}', ${TARGET.cost}, DATE '2025-02-02')`,
    );
    await connection.run('CHECKPOINT');
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
