import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyPaths, writeFileAtomic } from '../../../cli/common';
import { startTestDeployment, type TestDeployment } from '../harness';
import { LIFECYCLE_PARTIES } from '../lifecycle-harness';
import { tusk, tuskOk } from './run-tusk';

const COHORT = ['--param', 'min_age=20', '--param', 'max_age=70', '--param', 'sex=F'];
const TERMS = [
  '--jurisdiction',
  'US',
  '--purpose',
  'research',
  '--accept',
  'health',
  '--accept',
  'deidentified',
];

/** Each role through bin/tusk against the real stack: buyer, compliance, auditor, sponsor, operator. */
describe('the CLI of every role', () => {
  let test: TestDeployment;
  let keyHome: string;
  let env: Record<string, string>;
  let plainDealId: string;

  beforeAll(async () => {
    test = await startTestDeployment(
      'cli-roles',
      (seller) => seller.publishDemoTemplate().then(() => undefined),
      {
        parties: LIFECYCLE_PARTIES,
        buyerFunds: 100_000n,
      },
    );
    keyHome = await mkdtemp(join(tmpdir(), 'tusk-cli-keys-'));
    env = { TUSK_HOME: keyHome, TUSK_API_URL: test.deployment.apiUrl };
    // The deployment made the parties' keys; the CLI reads them from $TUSK_HOME/keys.
    const identities = [test.deployment.buyer, ...test.deployment.parties.values()];
    for (const identity of identities) {
      const paths = keyPaths(keyHome, identity.id);
      await writeFileAtomic(paths.signing, identity.signingKeyPem, 0o600);
      await writeFileAtomic(paths.result, identity.resultKeyPem, 0o600);
    }
  });
  afterAll(async () => {
    await test?.close();
    if (keyHome) await rm(keyHome, { recursive: true, force: true });
  });

  it('buyer: a plain deal, waited for and opened', async () => {
    const bought = await tusk(
      ['buyer', 'deal', 'cohort-cost-by-zip3', '--as', 'demo-buyer', ...COHORT, ...TERMS, '--wait'],
      env,
    );
    expect(bought.code, bought.stderr).toBe(0);
    plainDealId = /^deal (\S+): delivered$/m.exec(bought.stdout)![1]!;
    // The acceptance window the buyer signed (the one the catalog suggests, unless it chose another).
    expect(bought.stdout).toMatch(/^ {2}acceptance window: \d+ (h|s) after delivery \(signed\)$/m);
    expect(await tuskOk(['buyer', 'result', plainDealId, '--as', 'demo-buyer'], env)).toContain(
      'commitment verified',
    );
  });

  it('buyer: a private selection, bought and opened from the CLI', async () => {
    await tuskOk(['buyer', 'keygen', 'demo-buyer', '--he'], env);
    const bought = await tusk(
      [
        'buyer',
        'deal',
        'cohort-cost-by-zip3',
        '--as',
        'demo-buyer',
        ...COHORT,
        ...TERMS,
        '--select',
        '100,I10',
        '--select',
        '101,E11',
        '--acceptance-window',
        '2',
        '--wait',
      ],
      env,
    );
    expect(bought.code, bought.stderr).toBe(0);
    const dealId = /^deal (\S+): delivered$/m.exec(bought.stdout)![1]!;
    expect(bought.stdout).toMatch(/^ {2}acceptance window: 2 h after delivery \(signed\)$/m);
    const opened = JSON.parse(
      await tuskOk(['buyer', 'result', dealId, '--as', 'demo-buyer', '--json'], env),
    ) as {
      kind: string;
      answers: Record<string, string>[];
    };
    expect(opened.kind).toBe('selection');
    expect(opened.answers).toHaveLength(2);
    expect(Object.keys(opened.answers[0]!)).toEqual(['patients', 'total_cost']);
    // The table names each answer by the group this buyer chose, kept only in its own home.
    const table = await tuskOk(['buyer', 'result', dealId, '--as', 'demo-buyer'], env);
    expect(table).toMatch(/^group\s+patients\s+total_cost/m);
    expect(table).toMatch(/^100,I10\s+\d+/m);
    expect(table).toMatch(/^101,E11\s+\d+/m);
  });

  it('buyer: lists its deals', async () => {
    const listing = JSON.parse(await tuskOk(['buyer', 'deals', '--as', 'demo-buyer', '--json'], env)) as {
      deals: { id: string }[];
    };
    expect(listing.deals.map((d) => d.id)).toContain(plainDealId);
  });

  it('compliance: two principals vote a dispute to its outcome', async () => {
    await tuskOk(
      ['buyer', 'dispute', plainDealId, '--as', 'demo-buyer', '--reason', 'the totals look wrong'],
      env,
    );
    await tuskOk(
      ['buyer', 'dispute-evidence', plainDealId, '--as', 'demo-buyer', '--text', 'our own count differs'],
      env,
    );
    expect(
      (await tusk(['compliance', 'dispute', 'vote', plainDealId, 'halve', '--as', 'compliance-1'], env)).code,
    ).toBe(2);
    // Only the deal's seller concedes: the buyer's key is refused, and the dispute stays open.
    const buyerConceding = await tusk(['seller', 'dispute-concede', plainDealId, '--as', 'demo-buyer'], env);
    expect(buyerConceding).toMatchObject({ code: 1 });
    expect(buyerConceding.stderr).toContain("the API refused: forbidden: only the deal's seller concedes");
    await tuskOk(['compliance', 'dispute', 'vote', plainDealId, 'refund', '--as', 'compliance-1'], env);
    await tuskOk(['compliance', 'dispute', 'vote', plainDealId, 'refund', '--as', 'compliance-2'], env);
    let status: { stage: string; outcome?: { kind: string } } = { stage: 'open' };
    for (let i = 0; i < 100 && status.stage !== 'resolved'; i++) {
      status = JSON.parse(
        await tuskOk(['compliance', 'dispute', 'status', plainDealId, '--as', 'compliance-1'], env),
      ) as typeof status;
      if (status.stage !== 'resolved') await new Promise((r) => setTimeout(r, 300));
    }
    expect(status).toMatchObject({ stage: 'resolved', outcome: { kind: 'refund' } });
  });

  it('auditor: asks to see a deal, compliance approves, the auditor sees the parties', async () => {
    const hidden = JSON.parse(await tuskOk(['auditor', 'deal', plainDealId, '--as', 'auditor'], env)) as {
      buyerId?: string;
    };
    expect(hidden.buyerId).toBeUndefined();
    const reason = ['--reason', 'checking the refunded dispute of this deal'];
    await tuskOk(
      [
        'auditor',
        'disclosure',
        'request',
        plainDealId,
        '--as',
        'auditor',
        '--id',
        'cli-disclosure',
        ...reason,
      ],
      env,
    );
    await tuskOk(
      ['compliance', 'disclosure', 'decide', 'cli-disclosure', 'approve', '--as', 'compliance-1'],
      env,
    );
    await tuskOk(
      ['compliance', 'disclosure', 'decide', 'cli-disclosure', 'approve', '--as', 'compliance-2'],
      env,
    );
    let view = await tusk(['auditor', 'disclosure', 'view', 'cli-disclosure', '--as', 'auditor'], env);
    for (let i = 0; i < 50 && view.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 300));
      view = await tusk(['auditor', 'disclosure', 'view', 'cli-disclosure', '--as', 'auditor'], env);
    }
    expect(JSON.parse(view.stdout)).toMatchObject({ fields: { buyerId: 'demo-buyer' } });
  });

  it('sponsor: funds a grant, the grantee submits evidence, the sponsor approves, the grant completes', async () => {
    const milestones = join(keyHome, 'milestones.json');
    await writeFile(
      milestones,
      JSON.stringify([
        {
          milestoneId: 'protocol',
          name: 'study protocol published',
          amount: '500',
          deadline: new Date(Date.now() + 600_000).toISOString(),
          check: { kind: 'sponsor_approval' },
        },
      ]),
    );
    await tuskOk(
      [
        'sponsor',
        'grant',
        'create',
        '--as',
        'sponsor',
        '--grantee',
        'lab',
        '--milestones',
        milestones,
        '--id',
        'cli-grant',
      ],
      env,
    );
    const evidence = ['sponsor', 'grant', 'evidence', 'cli-grant', 'protocol', '--as', 'lab'];
    // The grantee's answer names the milestone, how it is checked, and that nothing is paid yet.
    const submitted = await tuskOk([...evidence, '--text', 'doi:10.0000/protocol'], env);
    expect(submitted).toContain(
      `milestone protocol "study protocol published" (checked by the sponsor's approval): open`,
    );
    expect(submitted).toMatch(/^ {2}tranche 500: nothing paid yet/m);
    const answer = JSON.parse(await tuskOk([...evidence, '--text', 'doi:10.0000/data', '--json'], env)) as {
      milestone: object;
    };
    expect(answer.milestone).toEqual({
      milestoneId: 'protocol',
      name: 'study protocol published',
      check: 'sponsor_approval',
      stage: 'open',
      amount: '500',
      paid: '0',
    });
    // The sponsor's approval names the milestone met and its tranche, paid or being released.
    const approved = await tuskOk(
      ['sponsor', 'grant', 'approve', 'cli-grant', 'protocol', '--as', 'sponsor'],
      env,
    );
    expect(approved).toMatch(
      /^ {2}milestone protocol "study protocol published" \(checked by the sponsor's approval\): (met|released)$/m,
    );
    expect(approved).toMatch(/^ {2}tranche 500: (met: settlement is releasing it to lab|paid 500 to lab)/m);
    const done = await tusk(['sponsor', 'grant', 'status', 'cli-grant', '--as', 'sponsor', '--wait'], env);
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ stage: 'completed' });
    // The public progress needs no party: anyone reads the aggregates, unsigned.
    const progress = await tusk(['sponsor', 'grant', 'progress', 'cli-grant'], env);
    expect(progress.code, progress.stderr).toBe(0);
    expect(JSON.parse(progress.stdout)).toEqual({
      grantId: 'cli-grant',
      stage: 'completed',
      milestonesMet: 1,
      milestonesTotal: 1,
      percentMet: 100,
    });
  });

  it('operator: a keygen, a registration, a balance; a bad role is a usage error', async () => {
    const keys = await tuskOk(['operator', 'keygen', 'ops-1'], env);
    const publicKey = /register it\): (\S+)/.exec(keys)![1]!;
    const partiesEnv = { ...env, TUSK_PARTIES_FILE: join(keyHome, 'parties.json') };
    expect(
      await tuskOk(
        ['operator', 'party', 'add', 'ops-1', '--role', 'operator', '--public-key', publicKey],
        partiesEnv,
      ),
    ).toBe('registered operator ops-1\n');
    expect(
      (await tusk(['operator', 'party', 'add', 'x', '--role', 'king', '--public-key', publicKey], partiesEnv))
        .code,
    ).toBe(2);
    const ledgerEnv = { ...env, TUSK_LEDGER_FILE: join(test.home, 'ledger.jsonl') };
    expect(await tuskOk(['operator', 'balance', 'sponsor'], ledgerEnv)).toMatch(/^sponsor: \d+/);
  });
});
