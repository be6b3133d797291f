import { join, resolve } from 'node:path';
import { z } from 'zod';

/** Where local state lives unless a variable says otherwise: blobs, keys, ledger, datasets. */
export const tuskHome = () => resolve(process.env.TUSK_HOME ?? '.tusk');

/**
 * The API's catalog of published templates (`<root>/<seller>/<id>.json` and its signature):
 * TUSK_POLICIES_ROOT, else `catalog` under the home, where `tusk template publish` lands and
 * `tusk up` puts the demo seller's templates. Never the checkout, wherever the API was started.
 */
export const catalogRoot = (home: string = tuskHome()) =>
  resolve(process.env.TUSK_POLICIES_ROOT || join(home, 'catalog'));

const common = z.object({
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TUSK_BLOB_DIR: z.string().optional(),
});

function parseOrExplain<S extends z.ZodType>(schema: S): z.infer<S> {
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) {
    throw new Error(`invalid environment:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** Parses this process's environment with a schema; a bad value stops the process with a clear message. */
export function readEnv<T extends z.ZodRawShape>(shape: T) {
  const base = parseOrExplain(common);
  const own = parseOrExplain(z.object(shape));
  return { ...base, ...own, blobDir: resolve(base.TUSK_BLOB_DIR ?? `${tuskHome()}/blobs`) };
}

/** `name=path,name=path` → { name: path } */
export const datasetList = z
  .string()
  .transform(
    (value) =>
      Object.fromEntries(
        value.split(',').map((pair): [string, string] => {
          const [name = '', path = ''] = pair.split('=').map((part) => part.trim());
          return [name, path];
        }),
      ) as Record<string, string>,
  )
  .pipe(z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/), z.string().min(1)));
