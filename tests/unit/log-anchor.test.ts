import { describe, expect, it } from 'vitest';
import { anchorId } from '../../lib/ids/anchor-id';
import { AztecNodeUnreachable, txProblem, txReceipt } from '../../audit/verify/aztec-node';

/** The BN254 scalar field's modulus: an NFT token id must be below it. */
const BN254 = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001n;
const ROOT = 'ab'.repeat(32);

describe('the on-chain id of an anchored log head', () => {
  it('is sha256 of the size and root, cut to a field element, as any auditor recomputes it', () => {
    // Computed independently: sha256(b"tusk log anchor v1\0" + b"3" + b"\0" + bytes.fromhex("ab"*32))[:31].
    expect(anchorId(3, ROOT)).toBe('0x00f6cee24e65f400cf36dfc3f5c75aff66e84963e3a09c0d948509c7ddead236');
    for (const size of [0, 1, 2 ** 40]) expect(BigInt(anchorId(size, ROOT))).toBeLessThan(BN254);
  });

  it('differs when the size or the root differs, so a rewritten head has another id', () => {
    const ids = new Set([
      anchorId(3, ROOT),
      anchorId(4, ROOT),
      anchorId(3, 'ac'.repeat(32)),
      anchorId(33, ROOT),
    ]);
    expect(ids.size).toBe(4);
  });

  it('refuses what is not a tree head', () => {
    expect(() => anchorId(-1, ROOT)).toThrow(/whole number/);
    expect(() => anchorId(1.5, ROOT)).toThrow(/whole number/);
    expect(() => anchorId(1, ROOT.toUpperCase())).toThrow(/lowercase hex/);
    expect(() => anchorId(1, 'ab')).toThrow(/32 bytes/);
  });
});

describe("a node's transaction receipt, as an auditor reads it", () => {
  const hash = `0x${'1'.repeat(64)}`;
  it('counts a landed, successful transaction', () => {
    for (const status of ['proposed', 'checkpointed', 'proven', 'finalized'])
      expect(
        txProblem('release', hash, { status, executionResult: 'success', blockNumber: 7 }),
      ).toBeUndefined();
  });
  it('says why anything else does not count', () => {
    expect(txProblem('release', hash, { status: 'dropped' })).toMatch(/unknown to the node/);
    expect(txProblem('release', hash, { status: 'pending' })).toMatch(/still pending/);
    expect(
      txProblem('release', hash, {
        status: 'proposed',
        executionResult: 'app_logic_reverted',
        error: 'Balance too low',
      }),
    ).toMatch(/reverted: Balance too low/);
  });
  it('a node that does not answer is not a finding about the deal: the check could not be made', async () => {
    await expect(txReceipt('http://127.0.0.1:9', hash)).rejects.toBeInstanceOf(AztecNodeUnreachable);
  });
});
