import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { sellerWorkspace } from '../../../lib/seller-workspace';
import { loadPerimeterKey } from '../../../lib/perimeter-key';
import { registeredKeyOf, registeredPerimeterKey } from '../../../sdk';
import { deployLocal, type LocalDeployment } from '../../../scripts/lib/local-deployment';
import { tusk, tuskOk } from './run-tusk';

const SELLER = 'bank-north';
const BUYER = 'card-analyst';
const CATEGORIES = ['grocery', 'fuel', 'travel', 'dining', 'online', 'pharmacy'];

/**
 * A bank's card transactions: 4,000 cards, each spending in at most three merchant categories
 * (so no card is left out for reaching too many groups), dates over 2025 and 2026.
 */
function cardTransactions(): { csv: string; cards2025: Map<string, Set<string>> } {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const lines = ['card_id,tx_date,merchant_category,amount'];
  const cards2025 = new Map(CATEGORIES.map((c) => [c, new Set<string>()]));
  for (let card = 0; card < 4000; card++) {
    const id = `card-${String(card).padStart(5, '0')}`;
    const own = [0, 1, 2].map(() => CATEGORIES[Math.floor(next() * CATEGORIES.length)]!);
    for (let tx = 0; tx < 5; tx++) {
      const category = own[Math.floor(next() * own.length)]!;
      const day = new Date(Date.UTC(2025, 0, 1) + Math.floor(next() * 700) * 86_400_000);
      const amount = Math.round(next() * 20_000) / 100;
      lines.push(`${id},${day.toISOString().slice(0, 10)},${category},${amount}`);
      if (day.getUTCFullYear() === 2025) cards2025.get(category)!.add(id);
    }
  }
  return { csv: `${lines.join('\n')}\n`, cards2025 };
}

describe('a seller onboarded from its own CSV with the CLI, selling an answer the buyer reads with the CLI', () => {
  let home: string;
  let env: Record<string, string>;
  let deployment: LocalDeployment;
  let data: ReturnType<typeof cardTransactions>;
  const workspace = () => sellerWorkspace(home, SELLER);
  const templateFile = () => join(workspace().dir, 'card-spend.json');

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'tusk-onboard-'));
    env = { TUSK_HOME: home };
    data = cardTransactions();
    await writeFile(join(home, 'card-transactions.csv'), data.csv);
  });
  afterAll(async () => {
    await deployment?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('init writes the key, seller.json and the perimeter configuration that reads the key from it', async () => {
    const out = await tuskOk(['seller', 'init', SELLER], env);
    const seller = JSON.parse(await readFile(workspace().sellerFile, 'utf8')) as {
      seller: string;
      publicKey: string;
      perimeterKey: string;
    };
    expect(seller.seller).toBe(SELLER);
    expect(out).toContain(seller.publicKey);
    // The perimeter's release-signing key is made now, where the perimeter will find it.
    const made = await loadPerimeterKey(join(workspace().dir, 'state'));
    expect(seller.perimeterKey).toBe(made.publicKey);
    expect(out).toContain(`perimeter key:                 ${made.publicKey}`);
    const perimeter = JSON.parse(await readFile(workspace().perimeterFile, 'utf8')) as Record<
      string,
      unknown
    >;
    expect(perimeter).toMatchObject({ sellerFile: 'seller.json', datasets: {} });
    expect(JSON.stringify(perimeter)).not.toContain(seller.publicKey);
    expect((await tusk(['seller', 'init', SELLER], env)).code).toBe(2);
  });

  it('import loads the CSV into the perimeter database as a table, with its date column', async () => {
    const out = await tuskOk(
      [
        'seller',
        'import',
        join(home, 'card-transactions.csv'),
        '--table',
        'card_transactions',
        '--seller',
        SELLER,
      ],
      env,
    );
    expect(out).toContain('card_transactions: 20,000 rows');
    expect(out).toMatch(/tx_date DATE/);
    const perimeter = JSON.parse(await readFile(workspace().perimeterFile, 'utf8')) as { datasets: object };
    expect(perimeter.datasets).toEqual({ card_transactions: 'data.duckdb' });
    // Loading the same table again needs --replace; a missing file is a usage error.
    const again = await tusk(
      [
        'seller',
        'import',
        join(home, 'card-transactions.csv'),
        '--table',
        'card_transactions',
        '--seller',
        SELLER,
      ],
      env,
    );
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--replace');
    expect(
      (await tusk(['seller', 'import', join(home, 'nope.csv'), '--table', 'x', '--seller', SELLER], env))
        .code,
    ).toBe(2);
  });

  it('template new drafts from the schema, marked for review, and a draft cannot be signed', async () => {
    const out = await tuskOk(
      [
        'template',
        'new',
        '--table',
        'card_transactions',
        '--seller',
        SELLER,
        '--id',
        'card-spend',
        '--dimensions',
        'merchant_category',
      ],
      env,
    );
    expect(out).toContain('REVIEW');
    const draft = JSON.parse(await readFile(templateFile(), 'utf8')) as Record<string, unknown>;
    // The bound is on each card's total in a category (what the perimeter clamps), not on one
    // transaction (at most 200 here): cards spend several times in a category.
    const total = (draft.metrics as { name: string; min?: number; max?: number }[]).find(
      (metric) => metric.name === 'total_amount',
    )!;
    expect(out).toContain(
      `total_amount: each card_id's total of amount in a group is held between ${total.min} and ${total.max}`,
    );
    expect(total.max).toBeGreaterThan(200);
    expect(draft).toMatchObject({
      privacyUnit: 'card_id',
      dimensions: ['merchant_category'],
      parameters: {
        from_year: { type: 'integer', min: 2025, max: 2026 },
        to_year: { type: 'integer', min: 2025, max: 2026 },
      },
    });
    expect(String(draft.description)).toContain('for the seller alone');
    // Every category has hundreds of cards: all six are proposed as the declared domain, for review.
    expect(draft.groupDomain).toEqual({ merchant_category: [...CATEGORIES].sort() });
    expect(out).toContain('groupDomain merchant_category: dining, fuel, grocery, online, pharmacy, travel');
    const refused = await tusk(['template', 'sign', templateFile(), '--seller', SELLER], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is a draft');
  });

  it('the reviewed template is linted and signed, and the dataset policy signed', async () => {
    const draft = JSON.parse(await readFile(templateFile(), 'utf8')) as Record<string, unknown>;
    await writeFile(
      templateFile(),
      JSON.stringify({
        ...draft,
        title: 'Cards and card spend by merchant category',
        description:
          'For a range of years: distinct cards and total spend per merchant category, with noise.',
      }),
    );
    await tuskOk(['template', 'lint', templateFile(), '--dataset', workspace().database], env);
    // The seller weighs the noise against its own typical group before signing.
    const explained = await tuskOk(
      ['template', 'explain', templateFile(), '--dataset', workspace().database],
      env,
    );
    expect(explained).toContain('Noise against a typical group (the median of 6 groups');
    expect(explained).toMatch(/ {2}- units: ±[\d.]+ against [\d,]+ \([\d.]+%\)/);
    expect(await tuskOk(['template', 'sign', templateFile(), '--seller', SELLER], env)).toMatch(
      /^signed card-spend.json as sha256:/,
    );
    expect(await tuskOk(['template', 'verify', templateFile()], env)).toContain('verified');
    // One buyer may buy one answer (ε 1) and no second one, ever: a new policy's budgets are lifetime.
    expect(
      await tuskOk(
        ['seller', 'policy', '--seller', SELLER, '--dataset', 'card_transactions', '--buyer-epsilon', '1.5'],
        env,
      ),
    ).toContain('dataset policy v1 signed: card_transactions for its lifetime, ');
  });

  it('the operator registers the seller from its seller.json and a funded buyer, and the stack starts on perimeter.json', async () => {
    await tuskOk(['operator', 'party', 'add', SELLER, '--from', workspace().sellerFile], env);
    const keys = await tuskOk(['buyer', 'keygen', BUYER], env);
    const publicKey = /register it\): (\S+)/.exec(keys)![1]!;
    await tuskOk(['operator', 'party', 'add', BUYER, '--role', 'buyer', '--public-key', publicKey], env);
    expect(await tuskOk(['operator', 'fund', BUYER, '5000'], env)).toContain(`${BUYER}: 5000`);
    const { publicKey: sellerKey } = JSON.parse(await readFile(workspace().sellerFile, 'utf8')) as {
      publicKey: string;
    };
    deployment = await deployLocal({
      home,
      temporalAddress: inject('temporalAddress'),
      redisUrl: inject('redisUrl'),
      rows: 0,
      datasetPath: workspace().database,
      sellerId: SELLER,
      sellerPublicKey: sellerKey,
      policiesRoot: join(home, 'catalog'),
      perimeterConfig: workspace().perimeterFile,
    });
    env.TUSK_API_URL = deployment.apiUrl;
    // The perimeter key seller init made is in the log from the seller's registration on.
    const { client } = deployment.buyer;
    const operatorKey = (await client.get<{ publicKey: string }>('/operator/key')).publicKey;
    const { perimeterKey, perimeterSealingKey } = JSON.parse(
      await readFile(workspace().sellerFile, 'utf8'),
    ) as { perimeterKey: string; perimeterSealingKey: string };
    expect(await registeredPerimeterKey(client, SELLER, operatorKey)).toBe(perimeterKey);
    // And its sealing key, which buyers' template proposals are sealed to.
    expect(perimeterSealingKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await registeredKeyOf(client, SELLER, operatorKey, 'perimeter-sealing')).toBe(perimeterSealingKey);
  });

  it('publish sends the signed template to the catalog; another party cannot publish it', async () => {
    const byBuyer = await tusk(['template', 'publish', templateFile(), '--as', BUYER], env);
    expect(byBuyer.code).toBe(1);
    expect(byBuyer.stderr).toContain('forbidden');
    expect(await tuskOk(['template', 'publish', templateFile(), '--as', SELLER], env)).toMatch(
      /^published card-spend v1 of bank-north: sha256:/,
    );
    const listed = JSON.parse(await tuskOk(['buyer', 'templates', '--as', BUYER, '--json'], env)) as {
      id: string;
      seller: string;
    }[];
    expect(listed).toContainEqual(expect.objectContaining({ id: 'card-spend', seller: SELLER }));
  });

  it("the buyer's CLI buys an answer, waits for it and reads it", async () => {
    const bought = await tusk(
      [
        'buyer',
        'deal',
        'card-spend',
        '--as',
        BUYER,
        '--param',
        'from_year=2025',
        '--param',
        'to_year=2025',
        '--jurisdiction',
        'US',
        '--purpose',
        'research',
        '--accept',
        'financial',
        '--wait',
      ],
      env,
    );
    // Progress: at least one stage before delivery is shown (polling may miss a short query_running).
    expect(bought.stderr).toMatch(/: (quoted|budget_reserved|escrow_locked|query_running)\n/);
    expect(bought.code, bought.stderr).toBe(0);
    const dealId = /^deal (\S+): delivered$/m.exec(bought.stdout)![1]!;
    const result = await tuskOk(['buyer', 'result', dealId, '--as', BUYER, '--json'], env);
    const { payload } = JSON.parse(result) as {
      payload: { columns: string[]; rows: (string | number | null)[][] };
    };
    expect(payload.columns).toEqual(['merchant_category', 'units', 'total_amount']);
    expect(payload.rows.map((r) => r[0]).sort()).toEqual([...CATEGORIES].sort());
    for (const [category, units, total] of payload.rows) {
      // Noisy, but near the truth for groups of hundreds of cards; spend is clamped, so only positive here.
      const truth = data.cards2025.get(String(category))!.size;
      expect(Math.abs(Number(units) - truth)).toBeLessThan(0.1 * truth);
      expect(Number(total)).toBeGreaterThan(0);
    }
    const table = await tuskOk(['buyer', 'result', dealId, '--as', BUYER], env);
    expect(table).toContain('commitment verified');
    const budget = JSON.parse(
      await tuskOk(
        ['buyer', 'budget', '--seller', SELLER, '--dataset', 'card_transactions', '--as', BUYER, '--json'],
        env,
      ),
    ) as { buyer: { spent: { epsilon: number } } };
    expect(budget.buyer.spent.epsilon).toBe(1);
    expect(await tuskOk(['buyer', 'confirm', dealId, '--as', BUYER], env)).toMatch(/settled|confirmed/);
  });

  it('--wait exits 1 when the perimeter refuses a deal (the buyer has spent its budget)', async () => {
    const refused = await tusk(
      [
        'buyer',
        'deal',
        'card-spend',
        '--as',
        BUYER,
        '--param',
        'from_year=2026',
        '--param',
        'to_year=2026',
        '--jurisdiction',
        'US',
        '--purpose',
        'research',
        '--accept',
        'financial',
        '--wait',
      ],
      env,
    );
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/: (refunded|failed) \(/);
  });

  it('ledger export will not copy the privacy ledger from under a running perimeter', async () => {
    const out = join(home, 'ledger-copy.sqlite');
    const refused = await tusk(['seller', 'ledger', 'export', '--seller', SELLER, '--out', out], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /a perimeter worker is running and holds .*privacy-ledger\.sqlite; stop it/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('exit codes: 2 for usage, 3 when the API cannot be reached', async () => {
    expect((await tusk(['buyer', 'deal'], env)).code).toBe(2);
    expect((await tusk(['buyer', 'templates', '--as', BUYER, '--api', 'http://127.0.0.1:9'], env)).code).toBe(
      3,
    );
  });
});
