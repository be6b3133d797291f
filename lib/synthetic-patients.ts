import { DuckDBInstance } from '@duckdb/node-api';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface SyntheticPatientsOptions {
  path: string;
  rows: number;
  /** Called after each chunk with the rows written so far. */
  onProgress?: (written: number, total: number) => void;
}

const CHUNK = 250_000;
// Visits per person on average: a person appears in several rows, so cohorts count distinct persons.
const VISITS_PER_PERSON = 3;

/**
 * A deterministic synthetic `patients` table, one row per visit. Every column is derived from the
 * row number with DuckDB's hash(), so the same row count gives the same data. Age, sex and zip3
 * belong to the person; diagnosis, cost and date to the visit. Zip3 and diagnosis are skewed, so
 * some (zip3, diagnosis) groups are small — which is what suppression is for.
 */
function chunkSql(from: number, to: number, persons: number): string {
  const u = (key: string, salt: string) => `(hash(${key}, '${salt}') % 1000000) / 1000000.0`;
  return `
    INSERT INTO patients
    SELECT
      person_id,
      (${u('person_id', 'age')} * 90)::INTEGER + 5 AS age,
      CASE WHEN ${u('person_id', 'sex')} < 0.52 THEN 'F' ELSE 'M' END AS sex,
      (100 + floor(300 * pow(${u('person_id', 'zip')}, 6)))::INTEGER::VARCHAR AS zip3,
      ['I10','E11','J45','M54','F32','K21','N39','G43','C50','Z00','L40','D50'][
        1 + floor(12 * pow(${u('i', 'dx')}, 1.8))::INTEGER] AS diagnosis_code,
      round(50 + 4000 * pow(${u('i', 'cost')}, 3), 2)::DECIMAL(10, 2) AS cost,
      DATE '2024-01-01' + floor(${u('i', 'day')} * 730)::INTEGER AS visit_date
    FROM (SELECT i, (hash(i, 'person') % ${persons})::BIGINT + 1 AS person_id FROM range(${from}, ${to}) t(i))`;
}

export async function createSyntheticPatients(options: SyntheticPatientsOptions): Promise<void> {
  if (!Number.isInteger(options.rows) || options.rows < 1)
    throw new Error('rows must be a positive whole number');
  const persons = Math.max(1, Math.floor(options.rows / VISITS_PER_PERSON));
  // Build beside the target and rename at the end: an interrupted run never leaves a half-written dataset.
  const building = `${options.path}.building`;
  await mkdir(dirname(options.path), { recursive: true });
  await rm(building, { force: true });
  await rm(`${building}.wal`, { force: true });
  const instance = await DuckDBInstance.create(building);
  try {
    const connection = await instance.connect();
    try {
      await connection.run(`CREATE TABLE patients (
        person_id BIGINT NOT NULL, age INTEGER NOT NULL, sex VARCHAR NOT NULL, zip3 VARCHAR NOT NULL,
        diagnosis_code VARCHAR NOT NULL, cost DECIMAL(10, 2) NOT NULL, visit_date DATE NOT NULL)`);
      for (let from = 0; from < options.rows; from += CHUNK) {
        const to = Math.min(options.rows, from + CHUNK);
        await connection.run(chunkSql(from, to, persons));
        options.onProgress?.(to, options.rows);
      }
      await connection.run('CHECKPOINT');
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
  await rename(building, options.path);
}
