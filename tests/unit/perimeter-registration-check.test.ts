import { describe, expect, it } from 'vitest';
import type { RegisteredKeys } from '../../lib/key-log';
import type { KeyPurpose, KeyRegistration } from '../../lib/transparency/key-registration';
import { perimeterRegistrationProblem } from '../../activities/perimeter/registration-check';

const keys = { sellerId: 'seller-a', signingKey: 'S'.repeat(43), sealingKey: 'X'.repeat(43) };
const registration = (purpose: KeyPurpose, publicKey: string): KeyRegistration => ({
  type: 'tusk.key-registration/v1',
  partyId: keys.sellerId,
  role: 'seller',
  purpose,
  publicKey,
  sequence: 0,
});

/** A log that answers from a fixed table, or fails the way fetch and a refusing API fail. */
function log(registered: Partial<Record<KeyPurpose, string>>, failures: Error[] = []): RegisteredKeys {
  return {
    currentKey: async (_partyId: string, purpose: KeyPurpose = 'party') => {
      const failure = failures.shift();
      if (failure) throw failure;
      const key = registered[purpose];
      return key === undefined ? undefined : registration(purpose, key);
    },
  };
}
const quick = { attempts: 3, waitMs: 1 };

describe("a perimeter's start names a missing or wrong registration of its keys", () => {
  it('says nothing when the log registers exactly the keys this perimeter holds', async () => {
    const registered = { perimeter: keys.signingKey, 'perimeter-sealing': keys.sealingKey };
    expect(await perimeterRegistrationProblem(log(registered), keys, quick)).toBeUndefined();
  });

  it('names a missing perimeter key, its consequence and the command that registers it', async () => {
    const problem = await perimeterRegistrationProblem(
      log({ 'perimeter-sealing': keys.sealingKey }),
      keys,
      quick,
    );
    expect(problem).toContain('no perimeter key for seller-a');
    expect(problem).toContain('refuse every release');
    expect(problem).toContain('tusk operator party add seller-a');
    expect(problem).not.toContain('sealing key for');
  });

  it('names another registered key (a rotated or swapped key), and a missing sealing key', async () => {
    const problem = await perimeterRegistrationProblem(log({ perimeter: 'Z'.repeat(43) }), keys, quick);
    expect(problem).toContain(`another perimeter key for seller-a (${'Z'.repeat(43)}`);
    expect(problem).toContain('no perimeter sealing key for seller-a');
  });

  it('asks again while the log cannot be reached, then believes its answer', async () => {
    const registered = { perimeter: keys.signingKey, 'perimeter-sealing': keys.sealingKey };
    const unreachable = [new TypeError('fetch failed'), new TypeError('fetch failed')];
    expect(await perimeterRegistrationProblem(log(registered, unreachable), keys, quick)).toBeUndefined();
  });

  it('reports a refusing log at once, and an unreachable one after the last attempt', async () => {
    const refused = new Error('the transparency log answered 401 to seller-a: unknown key');
    expect(await perimeterRegistrationProblem(log({}, [refused]), keys, quick)).toMatch(
      /answered 401.*tusk operator party add/,
    );
    const down = [1, 2, 3].map(() => new TypeError('fetch failed'));
    expect(await perimeterRegistrationProblem(log({}, down), keys, quick)).toContain(
      'did not answer this perimeter (fetch failed)',
    );
  });
});
