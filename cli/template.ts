import { parseArgs } from 'node:util';
import { basename, dirname, join } from 'node:path';
import { checkTemplateSignature, signTemplate, templateHash } from '../query-policies/signature';
import {
  readSignatureFile,
  readTemplateFile,
  signaturePath,
  TemplateFileError,
} from '../query-policies/template-files';
import { CliError, readText, writeFileAtomic } from './common';

export const templateUsage = `tusk template hash <file>                           the hash a deal pins
tusk template sign <file> --key PEM                 sign as its seller (writes <id>.signature.json)
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
    options: { key: { type: 'string' }, 'public-key': { type: 'string' } },
  });
  const file = positionals[0];
  switch (command) {
    case 'hash':
      console.log(templateHash(await load(file)));
      return;
    case 'sign': {
      const parsed = await load(file);
      if (!values.key) throw new CliError('--key <seller private key PEM> is required');
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
