import { basename, dirname, join } from 'node:path';
import { checkTemplateSignature, signTemplate, templateHash } from '../../query-policies/signature';
import {
  readSignatureFile,
  readTemplateFile,
  signaturePath,
  TemplateFileError,
} from '../../query-policies/template-files';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Command } from 'commander';
import { explainTemplate, noiseAgainstTypical } from '../../query-policies/explain';
import { typicalGroups } from './typical-values';
import { lintTemplateSql, type LintIssue } from '../../query-policies/sql-lint';
import type { QueryTemplate } from '../../query-policies/template';
import {
  CliError,
  home,
  jsonText,
  keyPaths,
  partyClient,
  readText,
  withPartyOptions,
  writeFileAtomic,
  type PartyOptions,
} from '../common';
import { REVIEW_MARK, scaffoldTemplate } from './scaffold';

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

async function load(file: string) {
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

async function explain(file: string, options: { dataset?: string }): Promise<void> {
  const template = await load(file);
  console.log(explainTemplate(template));
  if (options.dataset)
    console.log(`\n${noiseAgainstTypical(template, await typicalGroups(template, options.dataset))}`);
}

async function lint(file: string, options: { dataset?: string }): Promise<void> {
  const parsed = await load(file);
  refuseLintIssues(file, await lintWithDuckDb(parsed, options.dataset));
  console.log(
    `ok: ${parsed.id} v${parsed.version}${options.dataset ? ` against ${options.dataset}` : ' (columns not checked: pass --dataset FILE)'}`,
  );
  if (options.dataset) {
    const dropped = await nullUnitRows(parsed, options.dataset);
    if (dropped > 0n)
      console.log(
        `note: ${dropped} rows of ${parsed.dataset} have no ${parsed.privacyUnit} (NULL): they are left out of every answer`,
      );
  }
}

async function sign(
  file: string,
  options: { key?: string; seller?: string; home?: string; dataset?: string },
): Promise<void> {
  const parsed = await load(file);
  if (`${parsed.title} ${parsed.description}`.includes(REVIEW_MARK))
    throw new CliError(
      `${file} is a draft: review it and remove every ${REVIEW_MARK} mark before signing`,
      1,
    );
  const key =
    options.key ?? (options.seller ? keyPaths(home(options.home), options.seller).signing : undefined);
  if (!key) throw new CliError('--key <pem> or --seller <sellerId> (its key in $TUSK_HOME/keys)');
  // A seller's signature approves the template: never sign one the perimeter would refuse.
  refuseLintIssues(file, await lintWithDuckDb(parsed, options.dataset));
  const signature = signTemplate(parsed, await readText(key, 'signing key'));
  const out = signaturePath(dirname(file), parsed.id);
  await writeFileAtomic(out, `${JSON.stringify(signature, null, 2)}\n`);
  console.log(`signed ${basename(file)} as ${signature.templateHash}\nsignature: ${out}`);
}

async function verify(file: string, options: { publicKey?: string }): Promise<void> {
  const parsed = await load(file);
  const signature = await readSignatureFile(signaturePath(dirname(file), parsed.id)).catch((error: Error) => {
    throw new CliError(error.message, 1);
  });
  const check = checkTemplateSignature(parsed, signature, options.publicKey ?? (await sellerKeyBeside(file)));
  if (!check.ok) throw new CliError(`NOT VERIFIED: ${check.reason}`, 1);
  console.log(`verified: ${parsed.id} v${parsed.version} ${check.hash}, signed by ${parsed.seller}`);
}

async function publish(file: string, options: PartyOptions & { json?: boolean }): Promise<void> {
  const parsed = await load(file);
  const signature = await readSignatureFile(signaturePath(dirname(file), parsed.id)).catch((error: Error) => {
    throw new CliError(
      `${error.message} (sign it first: tusk template sign ${file} --seller ${parsed.seller})`,
    );
  });
  const client = await partyClient({ ...options, as: options.as ?? parsed.seller });
  const published = await client.post<{ id: string; version: number; seller: string; hash: string }>(
    '/templates',
    { template: parsed, signature },
  );
  if (options.json) console.log(jsonText(published));
  else
    console.log(`published ${published.id} v${published.version} of ${published.seller}: ${published.hash}`);
}

export function registerTemplateCommands(program: Command): void {
  const template = program
    .command('template')
    .description("write, check and sign a seller's query templates");
  template
    .command('lint <file>')
    .description("check the SQL with DuckDB's parser (and the dataset's columns)")
    .option('--dataset <file>', 'the DuckDB file: lint against its columns too')
    .action(lint);
  template
    .command('explain <file>')
    .description('the output shape and privacy settings in plain words')
    .option(
      '--dataset <file>',
      "the seller's DuckDB file: compare the noise with a typical group's values (read here, nothing sent)",
    )
    .action(explain);
  template
    .command('hash <file>')
    .description('the hash a deal pins')
    .action(async (file: string) => console.log(templateHash(await load(file))));
  template
    .command('sign <file>')
    .description('lint, then sign as its seller (writes <id>.signature.json beside it)')
    .option('--key <pem>', "the seller's private key PEM")
    .option('--seller <sellerId>', "sign with this seller's key in $TUSK_HOME/keys")
    .option('--home <dir>', 'where keys live (default: $TUSK_HOME or .tusk)')
    .option('--dataset <file>', "lint against the dataset's columns too")
    .action(sign);
  template
    .command('verify <file>')
    .description('exit 1 with the reason if it is not as signed')
    .option('--public-key <key>', "the seller's public key (default: seller.json beside the file)")
    .action(verify);
  template
    .command('new')
    .description("draft a template from a table's schema, bounds suggested from the data, marked for review")
    .requiredOption('--table <name>', 'the table imported with tusk seller import')
    .option('--seller <sellerId>', 'the seller (default: $TUSK_SELLER_ID)')
    .option('--id <templateId>', 'the template id (default: the table name)')
    .option(
      '--unit <column>',
      'the privacy unit: the column naming one person (default: the first *_id column)',
    )
    .option(
      '--dimensions <columns>',
      'columns to group by, comma-separated (default: text columns with few values)',
    )
    .option('--force', 'draft again over an existing file')
    .option('--home <dir>', 'where the seller lives (default: $TUSK_HOME or .tusk)')
    .action(scaffoldTemplate);
  withPartyOptions(
    template
      .command('publish <file>')
      .description('send the signed template (and its signature beside it) to the catalog; --as the seller'),
  )
    .option('--json', 'print JSON')
    .action(publish);
}
