import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const printer = path.join(root, 'tests/fixtures/print-workflow-code.ts');

async function hashFrom(cwd: string): Promise<string> {
  const { stdout } = await promisify(execFile)(tsx, [printer], { cwd });
  return stdout.trim();
}

describe('the workflow-code hash an auditor checks', () => {
  it('is the same whatever directory the auditor runs from', { timeout: 60_000 }, async () => {
    const [fromRoot, fromTmp, fromLib] = await Promise.all([
      hashFrom(root),
      hashFrom(tmpdir()),
      hashFrom(path.join(root, 'lib')),
    ]);
    expect(fromRoot).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(fromTmp).toBe(fromRoot);
    expect(fromLib).toBe(fromRoot);
  });
});
