import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTemplateFile } from '../../query-policies/template-files';

const DEMO = join(__dirname, '../../query-policies/demo-seller/cohort-cost-by-zip3.json');

describe('a template file written for an earlier version', () => {
  it('names each retired key and where what it said lives now', async () => {
    const template = JSON.parse(await readFile(DEMO, 'utf8')) as Record<string, unknown>;
    const path = join(await mkdtemp(join(tmpdir(), 'tusk-old-template-')), 'old.json');
    await writeFile(
      path,
      JSON.stringify({ ...template, budget: { epsilon: 10, windowDays: 30 }, suppression: 'drop' }),
    );
    const error = await readTemplateFile(path).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toContain('Unrecognized keys: "budget", "suppression"');
    expect(error?.message).toContain('`tusk seller policy --dataset <name>`');
    expect(error?.message).toContain('`suppression` is gone');
    // The file as it is now still reads.
    await writeFile(path, JSON.stringify(template));
    await expect(readTemplateFile(path)).resolves.toMatchObject({ id: template.id });
  });
});
