import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { catalogRoot } from '../../lib/env';

describe("the API's catalog directory", () => {
  const saved = { root: process.env.TUSK_POLICIES_ROOT, home: process.env.TUSK_HOME };
  afterEach(() => {
    for (const [name, value] of [
      ['TUSK_POLICIES_ROOT', saved.root],
      ['TUSK_HOME', saved.home],
    ] as const)
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  });

  it('follows $TUSK_HOME (catalog/ under it), never the directory it was started from', () => {
    delete process.env.TUSK_POLICIES_ROOT;
    process.env.TUSK_HOME = '/srv/operator';
    expect(catalogRoot()).toBe(join('/srv/operator', 'catalog'));
    expect(catalogRoot('/elsewhere')).toBe(join('/elsewhere', 'catalog'));
    expect(catalogRoot()).not.toContain('query-policies');
  });

  it('TUSK_POLICIES_ROOT still names another one', () => {
    process.env.TUSK_POLICIES_ROOT = 'query-policies';
    expect(catalogRoot('/srv/operator')).toBe(resolve('query-policies'));
  });
});
