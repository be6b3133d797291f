import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const TUSK = join(__dirname, '../../../bin/tusk');

export interface TuskRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs bin/tusk as a user would; never throws on a non-zero exit, so tests assert the code. */
export function tusk(args: string[], env: Record<string, string>): Promise<TuskRun> {
  return new Promise((resolve) => {
    execFile(
      TUSK,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Like `tusk`, but a non-zero exit fails with what the command said. */
export async function tuskOk(args: string[], env: Record<string, string>): Promise<string> {
  const run = await tusk(args, env);
  if (run.code !== 0)
    throw new Error(`tusk ${args.join(' ')} exited ${run.code}:\n${run.stderr}\n${run.stdout}`);
  return run.stdout;
}
