import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseParam } from '../../cli/buyer/buy';
import { CliError } from '../../cli/common';
import { parseOutcome } from '../../cli/compliance/commands';
import { roundUp } from '../../cli/template/scaffold';
import { readPerimeterConfig } from '../../lib/seller-workspace';
import { buildProgram } from '../../cli/program';

describe('CLI parsing', () => {
  it('reads parameters as numbers when they are whole numbers, text otherwise', () => {
    expect(parseParam('min_age=30')).toEqual(['min_age', 30]);
    expect(parseParam('sex=F')).toEqual(['sex', 'F']);
    expect(parseParam('day=2025-01-31')).toEqual(['day', '2025-01-31']);
    expect(() => parseParam('=3')).toThrow(CliError);
  });

  it('reads dispute outcomes, and refuses anything else', () => {
    expect(parseOutcome('refund')).toEqual({ kind: 'refund' });
    expect(parseOutcome('split:2500')).toEqual({ kind: 'split', sellerBps: 2500 });
    expect(() => parseOutcome('split:10001')).toThrow(CliError);
    expect(() => parseOutcome('halve')).toThrow(CliError);
  });

  it('both parties of a deal open a dispute with a reason (signed on their machine)', () => {
    const program = buildProgram();
    for (const role of ['buyer', 'seller']) {
      const group = program.commands.find((c) => c.name() === role)!;
      const dispute = group.commands.find((c) => c.name() === 'dispute');
      expect(dispute?.options.find((o) => o.long === '--reason')?.mandatory).toBe(true);
    }
  });

  it('suggests bounds a person would pick, never below the value', () => {
    expect([0, 0.3, 7, 12, 199.5, 200, 201, 2600].map(roundUp)).toEqual([
      0, 0.5, 10, 20, 200, 200, 250, 5000,
    ]);
  });
});

describe('perimeter.json', () => {
  it("reads the seller's key from seller.json and resolves paths beside the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tusk-perimeter-config-'));
    try {
      const key = 'A'.repeat(43);
      await writeFile(join(dir, 'seller.json'), JSON.stringify({ seller: 'bank', publicKey: key }));
      await writeFile(
        join(dir, 'perimeter.json'),
        JSON.stringify({ sellerFile: 'seller.json', policiesDir: '.', datasets: { cards: 'data.duckdb' } }),
      );
      expect(readPerimeterConfig(join(dir, 'perimeter.json'))).toEqual({
        sellerId: 'bank',
        sellerPublicKey: key,
        policiesDir: dir,
        datasets: { cards: join(dir, 'data.duckdb') },
      });
      await writeFile(join(dir, 'seller.json'), JSON.stringify({ seller: 'bank', publicKey: 'short' }));
      expect(() => readPerimeterConfig(join(dir, 'perimeter.json'))).toThrow(/seller file .* is not valid/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
