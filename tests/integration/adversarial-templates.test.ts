import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSandbox } from '../../activities/perimeter/sandbox';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { signaturePath, templatePath } from '../../query-policies/template-files';
import {
  buyDeal,
  DEMO_TEMPLATE,
  startDealBehindTheApi,
  startTestDeployment,
  type TestDeployment,
} from './harness';

const run = promisify(execFile);
const TUSK = join(__dirname, '../../bin/tusk');

/** Templates that try to do more than aggregate the dataset: refused before any query runs. */
describe('adversarial templates', () => {
  let test: TestDeployment;
  let base: QueryTemplate;
  const attempt = (template: QueryTemplate) =>
    startDealBehindTheApi(test, { templateId: template.id, templateHash: templateHash(template) });
  const hostile: Record<string, string> = {
    'two-statements':
      'SELECT person_id, zip3, diagnosis_code, cost FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex; DROP TABLE patients',
    'reads-a-file':
      "SELECT person_id, zip3, diagnosis_code, cost FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex AND zip3 NOT IN (SELECT column0 FROM read_csv('/etc/passwd'))",
    'reads-the-network':
      "SELECT person_id, zip3, diagnosis_code, cost FROM 'https://example.org/patients.parquet' WHERE age BETWEEN $min_age AND $max_age AND sex = $sex",
    'runs-other-sql':
      "SELECT person_id, zip3, diagnosis_code, cost FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex AND zip3 IN (SELECT * FROM query('SELECT 1'))",
    'raises-an-error-as-a-bit':
      "SELECT person_id, zip3, diagnosis_code, cost FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex AND CASE WHEN person_id = 42 THEN error('bit') ELSE true END",
    'comments-out-the-wrapper':
      'SELECT person_id, zip3, diagnosis_code, cost FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex --',
    'reads-settings':
      "SELECT person_id, zip3, diagnosis_code, cost FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex AND zip3 <> getenv('HOME')",
    // Row independence: other people's rows decide whether a row is kept.
    'exists-over-the-dataset':
      'SELECT a.person_id, a.zip3, a.diagnosis_code, a.cost FROM patients a WHERE a.sex = $sex AND a.age <= $max_age AND EXISTS (SELECT 1 FROM patients b WHERE b.zip3 = a.zip3 AND b.age = $min_age)',
    'self-join':
      'SELECT a.person_id, a.zip3, a.diagnosis_code, a.cost FROM patients a JOIN patients b ON a.zip3 = b.zip3 WHERE b.age BETWEEN $min_age AND $max_age AND b.sex = $sex',
    'order-by-limit':
      'SELECT person_id, zip3, diagnosis_code, cost FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex ORDER BY cost DESC LIMIT 1',
  };

  /** Raises (ln(0)) exactly when someone aged $min_age is in the cohort: a free bit, unless total. */
  const raisesOnOneRow = (demo: QueryTemplate): QueryTemplate => ({
    ...demo,
    id: 'raises-on-one-row',
    sql: `${demo.sql} AND ln(CASE WHEN age = $min_age THEN 0.0 ELSE 1.0 END) = 0`,
  });

  beforeAll(async () => {
    test = await startTestDeployment(
      'adv-templates',
      async (seller) => {
        base = await seller.publishDemoTemplate();
        for (const [id, sql] of Object.entries(hostile)) await seller.publish({ ...base, id, sql });
        await seller.publish(raisesOnOneRow(base));
        const raised = await seller.publish({ ...base, id: 'epsilon-raised-after-signing' });
        await writeFile(
          templatePath(seller.directory, raised.id),
          JSON.stringify({ ...raised, privacy: { mechanism: 'discrete_laplace', epsilon: 10 } }),
        );
        // A query that fails is refused at the timeout: short enough that a failing deal is seen failing.
      },
      { queryTimeoutMs: 30_000 },
    );
  });
  afterAll(() => test?.close());

  it.each(Object.keys(hostile))(
    '%s: signed by the seller, still refused by lint in the perimeter',
    async (id) => {
      const status = await attempt({ ...base, id, sql: hostile[id]! });
      expect(status.stage).toBe('failed');
      expect(status.problem?.code).toBe('TemplateSqlRejected');
      expect(await test.deployment.ledger.balanceOf('demo-buyer')).toBe(5000n);
    },
  );

  it('a template that reads other rows is refused with the rule it breaks', async () => {
    const status = await attempt({
      ...base,
      id: 'exists-over-the-dataset',
      sql: hostile['exists-over-the-dataset']!,
    });
    expect(status.problem).toMatchObject({
      code: 'TemplateSqlRejected',
      reason: expect.stringMatching(/EXISTS \(SELECT \.\.\.\).*Rewrite: /),
    });
  });

  it('a row whose value would raise is left out: the deal is answered, not failed', async () => {
    const template = raisesOnOneRow(base);
    const parameters = { min_age: 30, max_age: 50, sex: 'F' };
    // As written, the SQL raises on this dataset (someone aged 30 is in the cohort)...
    const sandbox = await openSandbox(test.deployment.datasetPath, { memoryLimit: '256MB', threads: 1 });
    const connection = await sandbox.connect();
    try {
      const raised = await connection.runAndReadAll(template.sql, parameters).then(
        () => 'ran',
        (error: Error) => error.message,
      );
      expect(raised).toMatch(/logarithm of zero/);
    } finally {
      connection.closeSync();
      sandbox.closeSync();
    }
    // ...but the perimeter runs its total form: the deal is delivered, as it is without that row.
    const deal = await buyDeal(test.deployment, template.id, parameters);
    const status = await deal.delivered();
    expect(status.problem).toBeUndefined();
    expect(status.stage).toBe('delivered');
  });

  it('a privacy setting raised on disk after signing is refused', async () => {
    const status = await attempt({ ...base, id: 'epsilon-raised-after-signing' });
    expect(status.problem).toMatchObject({
      code: 'TemplateSignatureInvalid',
      reason: expect.stringMatching(/changed after signing/),
    });
  });

  it('the sandbox itself refuses files, extensions and settings, whatever lint missed', async () => {
    const sandbox = await openSandbox(test.deployment.datasetPath, { memoryLimit: '256MB', threads: 1 });
    const connection = await sandbox.connect();
    try {
      const refusal = (sql: string) =>
        connection.run(sql).then(
          () => 'ran',
          (error: Error) => error.message,
        );
      expect(await refusal("SELECT * FROM read_csv('/etc/passwd')")).toMatch(/Permission Error|disabled/);
      expect(await refusal("COPY (SELECT 1) TO '/tmp/tusk-escape.csv'")).toMatch(
        /Permission Error|disabled|read-only/i,
      );
      expect(await refusal('INSTALL httpfs')).not.toBe('ran');
      expect(await refusal('LOAD httpfs')).not.toBe('ran');
      expect(await refusal("ATTACH '/tmp/other.duckdb'")).not.toBe('ran');
      expect(await refusal('SET enable_external_access = true')).toMatch(/configuration/i);
      expect(await refusal('DELETE FROM patients')).toMatch(/read-only/i);
    } finally {
      connection.closeSync();
      sandbox.closeSync();
    }
  });
});

describe('malformed template files', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'tusk-lint-'));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  async function lint(name: string, content: string) {
    const file = join(directory, name);
    await writeFile(file, content);
    return run(TUSK, ['template', 'lint', file]).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (error: { code: number; stderr: string }) => ({ code: error.code, output: error.stderr }),
    );
  }

  it('says what is wrong and exits non-zero', async () => {
    const demo = JSON.parse(
      await import('node:fs/promises').then((fs) => fs.readFile(DEMO_TEMPLATE, 'utf8')),
    ) as QueryTemplate;
    const notJson = await lint('not-json.json', '{"id": ');
    expect(notJson).toMatchObject({ code: 2, output: expect.stringMatching(/is not JSON/) });

    const { privacy: _privacy, ...noPrivacy } = demo;
    const missing = await lint('missing.json', JSON.stringify(noPrivacy));
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(/privacy/);

    const wrongTypes = await lint('types.json', JSON.stringify({ ...demo, minCohortSize: 'ten', price: 5 }));
    expect(wrongTypes.output).toMatch(/minCohortSize/);
    expect(wrongTypes.output).toMatch(/price/);

    const twoStatements = await lint(
      'two.json',
      JSON.stringify({ ...demo, sql: `${demo.sql}; DROP TABLE patients` }),
    );
    expect(twoStatements).toMatchObject({ code: 1, output: expect.stringMatching(/several_statements/) });

    const undeclared = await lint(
      'param.json',
      JSON.stringify({ ...demo, sql: demo.sql.replace('$sex', '$gender') }),
    );
    expect(undeclared.output).toMatch(/undeclared_parameter: \$gender/);
    expect(undeclared.output).toMatch(/unused_parameter: parameter sex/);

    const exists = await lint(
      'exists.json',
      JSON.stringify({
        ...demo,
        sql: `${demo.sql} AND EXISTS (SELECT 1 FROM patients b WHERE b.zip3 = patients.zip3 AND b.age = 40)`,
      }),
    );
    expect(exists.code).toBe(1);
    expect(exists.output).toMatch(
      /- subquery: EXISTS \(SELECT \.\.\.\): .* Rewrite: test this row's own columns/,
    );

    expect(await lint('ok.json', JSON.stringify(demo))).toMatchObject({
      code: 0,
      output: expect.stringMatching(/^ok:/),
    });
  });
});

describe('tusk template sign', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'tusk-sign-'));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('refuses to sign a template that fails lint, and signs one that passes', async () => {
    const demo = JSON.parse(await readFile(DEMO_TEMPLATE, 'utf8')) as QueryTemplate;
    const key = join(directory, 'seller.pem');
    await writeFile(key, generateEd25519KeyPair().privateKeyPem);
    const sign = async (template: QueryTemplate) => {
      const file = join(directory, `${template.id}.json`);
      await writeFile(file, JSON.stringify(template));
      return run(TUSK, ['template', 'sign', file, '--key', key]).then(
        ({ stdout }) => ({ code: 0, output: stdout }),
        (error: { code: number; stderr: string }) => ({ code: error.code, output: error.stderr }),
      );
    };
    const failing = {
      ...demo,
      id: 'error-bit',
      sql: `${demo.sql} AND CASE WHEN person_id = 42 THEN error('x') ELSE true END`,
    };
    const refused = await sign(failing);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(
      /fails lint:\n {2}- forbidden_function: error\(\) is not on the allow-list/,
    );
    await expect(access(signaturePath(directory, failing.id))).rejects.toThrow();

    const signed = await sign({ ...demo, id: 'clean' });
    expect(signed).toMatchObject({ code: 0, output: expect.stringMatching(/^signed clean.json as sha256:/) });
    await access(signaturePath(directory, 'clean'));
  });
});
