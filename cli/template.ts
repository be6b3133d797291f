import { parseArgs } from 'node:util';
import { basename, dirname, join } from 'node:path';
import { checkTemplateSignature, signTemplate, templateHash } from '../query-policies/signature';
import {
  readSignatureFile,
  readTemplateFile,
  signaturePath,
  TemplateFileError,
} from '../query-policies/template-files';
import { DuckDBInstance } from '@duckdb/node-api';
import { explainTemplate } from '../query-policies/explain';
import { lintTemplateSql, type LintIssue } from '../query-policies/sql-lint';
import type { QueryTemplate } from '../query-policies/template';
import { CliError, readText, writeFileAtomic } from './common';

/** Parses with an empty in-memory DuckDB; the dataset, when given, is opened read-only for its columns. */
async function lintWithDuckDb(template: QueryTemplate, datasetPath?: string): Promise<LintIssue[]> {
  const instance = await DuckDBInstance.create(
    datasetPath ?? ':memory:',
    datasetPath ? { access_mode: 'READ_ONLY' } : {},
  ).catch((error: Error) => {
    throw new CliError(`cannot open dataset ${datasetPath}: ${error.message}`);
  });
  const connection = await instance.connect();
  try {
    let columns: Set<string> | undefined;
    if (datasetPath) {
      const probe = await connection
        .runAndReadAll(`SELECT * FROM "${template.dataset}" LIMIT 0`)
        .catch(() => {
          throw new CliError(`dataset ${datasetPath} has no table ${template.dataset}`);
        });
      columns = new Set(probe.columnNames());
    }
    return await lintTemplateSql(connection, template, columns);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Exit 1 with each coded issue on its own line. */
function refuseLintIssues(file: string, issues: LintIssue[]): void {
  if (issues.length > 0)
    throw new CliError(
      `${file} fails lint:\n${issues.map((i) => `  - ${i.code}: ${i.message}`).join('\n')}`,
      1,
    );
}

/** Rows whose privacy unit is NULL belong to no known person: the perimeter leaves them out. */
async function nullUnitRows(template: QueryTemplate, datasetPath: string): Promise<bigint> {
  const instance = await DuckDBInstance.create(datasetPath, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT count(*) AS n FROM "${template.dataset}" WHERE "${template.privacyUnit}" IS NULL`,
    );
    return BigInt(reader.getRows()[0]?.[0] as bigint);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export const templateUsage = `tusk template lint <file> [--dataset FILE]          check the SQL with DuckDB's parser (and the dataset's columns)
tusk template explain <file>                        the output shape and privacy settings in plain words
tusk template hash <file>                           the hash a deal pins
tusk template sign <file> --key PEM                 lint, then sign as its seller (writes <id>.signature.json);
                                                   --dataset FILE lints against the dataset's columns too
tusk template verify <file> [--public-key KEY]      exit 1 with the reason if it is not as signed
                                                   (default key: seller.json beside the file)`;

async function load(file: string | undefined) {
  if (!file) throw new CliError(templateUsage);
  try {
    return await readTemplateFile(file);
  } catch (error) {
    if (error instanceof TemplateFileError) throw new CliError(error.message);
    throw error;
  }
}

async function sellerKeyBeside(file: string): Promise<string> {
  const path = join(dirname(file), 'seller.json');
  const { publicKey } = JSON.parse(await readText(path, 'seller.json (or pass --public-key)')) as {
    publicKey?: string;
  };
  if (!publicKey) throw new CliError(`${path} has no publicKey`);
  return publicKey;
}

export async function template(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { key: { type: 'string' }, 'public-key': { type: 'string' }, dataset: { type: 'string' } },
  });
  const file = positionals[0];
  switch (command) {
    case 'lint': {
      const parsed = await load(file);
      refuseLintIssues(file!, await lintWithDuckDb(parsed, values.dataset));
      console.log(
        `ok: ${parsed.id} v${parsed.version}${values.dataset ? ` against ${values.dataset}` : ' (columns not checked: pass --dataset FILE)'}`,
      );
      if (values.dataset) {
        const dropped = await nullUnitRows(parsed, values.dataset);
        if (dropped > 0n)
          console.log(
            `note: ${dropped} rows of ${parsed.dataset} have no ${parsed.privacyUnit} (NULL): they are left out of every answer`,
          );
      }
      return;
    }
    case 'explain':
      console.log(explainTemplate(await load(file)));
      return;
    case 'hash':
      console.log(templateHash(await load(file)));
      return;
    case 'sign': {
      const parsed = await load(file);
      if (!values.key) throw new CliError('--key <seller private key PEM> is required');
      // A seller's signature approves the template: never sign one the perimeter would refuse.
      refuseLintIssues(file!, await lintWithDuckDb(parsed, values.dataset));
      const signature = signTemplate(parsed, await readText(values.key, 'signing key'));
      const out = signaturePath(dirname(file!), parsed.id);
      await writeFileAtomic(out, `${JSON.stringify(signature, null, 2)}\n`);
      console.log(`signed ${basename(file!)} as ${signature.templateHash}\nsignature: ${out}`);
      return;
    }
    case 'verify': {
      const parsed = await load(file);
      const signature = await readSignatureFile(signaturePath(dirname(file!), parsed.id)).catch(
        (error: Error) => {
          throw new CliError(error.message, 1);
        },
      );
      const check = checkTemplateSignature(
        parsed,
        signature,
        values['public-key'] ?? (await sellerKeyBeside(file!)),
      );
      if (!check.ok) throw new CliError(`NOT VERIFIED: ${check.reason}`, 1);
      console.log(`verified: ${parsed.id} v${parsed.version} ${check.hash}, signed by ${parsed.seller}`);
      return;
    }
    default:
      throw new CliError(templateUsage);
  }
}
