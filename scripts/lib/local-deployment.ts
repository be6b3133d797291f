import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createSyntheticPatients } from '../../lib/synthetic-patients';
import { localLedgerAccounts } from '../../activities/settlement/ledger-accounts';
import type { LedgerAccounts } from '../../activities/settlement/port';
import { readDeployment, TEST_ACCOUNT, type SettlementDeployment } from '../../contracts/deployment';
import { aztecToolchain } from '../../contracts/toolchain';
import { addParty } from '../../lib/parties';
import { registerOperatorServices } from '../../lib/service-parties';
import { createOnce, newKeyFileJson } from '../../lib/codec/keyring';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { loadOperatorSigner } from '../../lib/transparency/operator-key';
import { loadPerimeterKey } from '../../activities/perimeter/release-signing';
import { loadPerimeterSealingKey } from '../../lib/perimeter-key';
import { readPerimeterConfig } from '../../lib/seller-workspace';
import type { Party, PartyRole } from '../../lib/parties';
import { generateX25519KeyPair } from '../../lib/sealed-box';
import { TuskClient } from '../../lib/tusk-client';
import { startService, type Service, type Shutdown } from './services';
import { freeLoopbackPorts } from '../../stack/launcher';

const ROOT = resolve(__dirname, '../..');

export interface BuyerIdentity {
  id: string;
  client: TuskClient;
  /** Ed25519 private key (PEM): signs this party's requests (e.g. for the CLI's key file). */
  signingKeyPem: string;
  /** X25519 private key (PEM): opens this buyer's results. */
  resultKeyPem: string;
  resultPublicKey: string;
}

/** Any registered party the deployment made keys for: a signed client and a key to open what is sealed to it. */
export type PartyIdentity = BuyerIdentity;

export interface ExtraParty {
  id: string;
  role: PartyRole;
  /** Minted on the local ledger. */
  funds?: bigint;
  /** When settling on Aztec: the local network's test account (by index) that is this party's wallet. */
  aztecAccount?: number;
}

export interface LocalDeploymentOptions {
  home: string;
  temporalAddress: string;
  redisUrl: string;
  rows: number;
  /** A prepared dataset file to serve instead of generating `rows` synthetic visits. */
  datasetPath?: string;
  sellerId?: string;
  /** The seller's template signing key; default: the demo seller's published key. */
  sellerPublicKey?: string;
  /** Directory holding `<sellerId>/` templates; default: the repo's query-policies. */
  policiesRoot?: string;
  buyerFunds?: bigint;
  acceptanceTimeoutMs?: number;
  feeBps?: number;
  /** The perimeter's query timeout. */
  queryTimeoutMs?: number;
  /** More sellers, each with its own perimeter worker (queue perimeter.<id>), key and dataset. */
  extraSellers?: { sellerId: string; sellerPublicKey: string; rows: number; aztecAccount?: number }[];
  /** Webhook the buyer's notifications are posted to. */
  buyerWebhookUrl?: string;
  /** Parties beyond the demo buyer and the seller: sponsors, auditors, compliance principals, more buyers. */
  parties?: ExtraParty[];
  /** More environment for every process, e.g. the API's lifecycle durations (TUSK_SUBSCRIPTION_GRACE_MS, ...). */
  env?: Record<string, string>;
  /** Settle on an Aztec network instead of the local ledger. */
  aztec?: AztecSettlementSetup;
  /**
   * The seller's perimeter.json (`tusk seller init`): the perimeter worker reads its seller, key,
   * datasets and policies from there instead of from variables.
   */
  perimeterConfig?: string;
  /**
   * The seller's perimeter as on the seller's own machine: run from `cwd` with exactly `env`
   * (nothing inherited from this process or the other services), e.g. Temporal through TLS and
   * the blob store through S3.
   */
  remotePerimeter?: { cwd: string; env: Record<string, string> };
  log?: (line: string) => void;
}

/** Where the operator's settlement contracts are (npm run aztec:deploy wrote these two files). */
export interface AztecSettlementSetup {
  nodeUrl: string;
  deploymentFile: string;
  escrowSecretFile: string;
  /** How long a buyer has to pay into a deal's escrow; the worker's default is 10 minutes. */
  paymentWindowMs?: number;
}

export interface LocalDeployment {
  apiUrl: string;
  buyer: BuyerIdentity;
  /** The extra parties, by id. */
  parties: Map<string, PartyIdentity>;
  sellerId: string;
  /** The development ledger: it holds the balances unless the deployment settles on Aztec. */
  ledger: LedgerAccounts;
  /** When settling on Aztec: the operator's deployment; the buyer and seller are its test accounts. */
  aztec?: SettlementDeployment;
  datasetPath: string;
  /** The history codec's keys, shared by every process here (Temporal never sees them). */
  codecKeyFile: string;
  /** The perimeter's private state (privacy ledger, released answers). */
  perimeterStateDir: string;
  services: Map<string, Service>;
  /** Restarts one service (after `kill()` or `stop()`), with the same environment plus `extraEnv`. */
  restart(name: string, extraEnv?: Record<string, string>): Promise<Service>;
  /** Stops every process; says how each one ended. */
  stop(): Promise<Record<string, Shutdown>>;
}

async function demoSellerKey(): Promise<string> {
  const file = join(ROOT, 'query-policies/demo-seller/seller.json');
  return (JSON.parse(await readFile(file, 'utf8')) as { publicKey: string }).publicKey;
}

/** Where the seller's perimeter keeps its state (and its key), in each way this deployment runs it. */
function perimeterStateDir(options: LocalDeploymentOptions, home: string, sellerId: string): string {
  if (options.remotePerimeter) {
    const { cwd, env } = options.remotePerimeter;
    return resolve(
      cwd,
      env.TUSK_PERIMETER_STATE_DIR ?? join(env.TUSK_HOME ?? '.tusk', 'perimeter', sellerId),
    );
  }
  const configured = options.perimeterConfig && readPerimeterConfig(options.perimeterConfig).stateDir;
  return configured || join(home, 'perimeter', sellerId);
}

/** Everything a deal needs on one machine: keys, parties, a dataset, a funded buyer and the six processes. */
export async function deployLocal(options: LocalDeploymentOptions): Promise<LocalDeployment> {
  const log = options.log ?? (() => undefined);
  const home = resolve(options.home);
  const sellerId = options.sellerId ?? 'demo-seller';
  await mkdir(join(home, 'logs'), { recursive: true });

  const datasetPath = options.datasetPath ?? join(home, 'data', `${sellerId}-patients.duckdb`);
  if (!options.datasetPath) {
    await mkdir(join(home, 'data'), { recursive: true });
    const started = performance.now();
    await createSyntheticPatients({ path: datasetPath, rows: options.rows });
    log(
      `dataset: ${options.rows.toLocaleString('en')} synthetic patient visits (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  }

  const aztec = options.aztec && (await readDeployment(options.aztec.deploymentFile));
  const buyerSigning = generateEd25519KeyPair();
  const buyerResult = generateX25519KeyPair();
  const parties: Party[] = [
    {
      id: 'demo-buyer',
      role: 'buyer',
      publicKey: buyerSigning.publicKey,
      webhookUrl: options.buyerWebhookUrl,
      ...(aztec ? { aztecAddress: aztec.testAccounts[TEST_ACCOUNT.buyer] } : {}),
    },
    {
      id: sellerId,
      role: 'seller',
      publicKey: options.sellerPublicKey ?? (await demoSellerKey()),
      // The perimeter's own key, made where it will find it, so the log registers it from the start
      // (the perimeter signs its questions to the key log with it).
      perimeterKey: (await loadPerimeterKey(perimeterStateDir(options, home, sellerId))).publicKey,
      perimeterSealingKey: (await loadPerimeterSealingKey(perimeterStateDir(options, home, sellerId)))
        .publicKey,
      ...(aztec ? { aztecAddress: aztec.testAccounts[TEST_ACCOUNT.seller] } : {}),
    },
  ];
  const extraKeys = (options.parties ?? []).map((extra) => ({
    extra,
    signing: generateEd25519KeyPair(),
    result: generateX25519KeyPair(),
  }));
  const aztecAddressOf = (account: number | undefined) => {
    if (!aztec || account === undefined) return {};
    const aztecAddress = aztec.testAccounts[account];
    if (!aztecAddress) throw new Error(`the Aztec network has no test account ${account}`);
    return { aztecAddress };
  };
  for (const { extra, signing } of extraKeys)
    parties.push({
      id: extra.id,
      role: extra.role,
      publicKey: signing.publicKey,
      ...aztecAddressOf(extra.aztecAccount),
    });
  for (const extra of options.extraSellers ?? [])
    parties.push({
      id: extra.sellerId,
      role: 'seller',
      publicKey: extra.sellerPublicKey,
      perimeterKey: (await loadPerimeterKey(join(home, 'perimeter', extra.sellerId))).publicKey,
      perimeterSealingKey: (await loadPerimeterSealingKey(join(home, 'perimeter', extra.sellerId))).publicKey,
      ...aztecAddressOf(extra.aztecAccount),
    });
  const partiesFile = join(home, 'parties.json');
  for (const party of parties) await addParty(partiesFile, party);
  await registerOperatorServices(partiesFile, home);

  const ledger = localLedgerAccounts(join(home, 'ledger.jsonl'));
  // On Aztec the buyer's funds are notes in its own wallet (npm run aztec -- fund), not ledger lines.
  if (!aztec) {
    await ledger.mint('demo-buyer', options.buyerFunds ?? 5000n);
    for (const { extra } of extraKeys) if (extra.funds) await ledger.mint(extra.id, extra.funds);
  }

  // Made before the processes start, so all of them encrypt under one key; an existing file is kept.
  const codecKeyFile = join(home, 'codec-keys.json');
  await createOnce(codecKeyFile, newKeyFileJson('local-1'));

  const [apiPort] = await freeLoopbackPorts(1);
  // Made before the processes start too: each perimeter pins its public key (the log's tree heads).
  const operator = await loadOperatorSigner(
    options.env?.TUSK_OPERATOR_SIGNING_KEY_FILE ?? join(home, 'keys', 'operator-signing.ed25519.pem'),
  );
  const env: Record<string, string> = {
    TUSK_HOME: home,
    TEMPORAL_ADDRESS: options.temporalAddress,
    REDIS_URL: options.redisUrl,
    TUSK_PARTIES_FILE: partiesFile,
    TUSK_CODEC_KEY_FILE: codecKeyFile,
    // The key file, not whatever keys the caller's shell may hold.
    TUSK_CODEC_KEYS: '',
    TUSK_LEDGER_FILE: ledger.path,
    TUSK_SELLER_ID: sellerId,
    TUSK_SELLER_PUBLIC_KEY: parties[1]!.publicKey,
    TUSK_DATASETS: `patients=${datasetPath}`,
    TUSK_POLICIES_ROOT: options.policiesRoot ?? join(ROOT, 'query-policies'),
    TUSK_POLICIES_DIR: join(options.policiesRoot ?? join(ROOT, 'query-policies'), sellerId),
    TUSK_API_PORT: String(apiPort!),
    TUSK_LOG_URL: `http://127.0.0.1:${apiPort}`,
    TUSK_OPERATOR_PUBLIC_KEY: operator.publicKey,
    TUSK_FEE_BPS: String(options.feeBps ?? 250),
    // Tests and benchmarks poll one deal many times a second; the limit itself is tested on its own.
    TUSK_RATE_LIMIT_MAX: '1000000',
    ...(options.acceptanceTimeoutMs
      ? { TUSK_ACCEPTANCE_TIMEOUT_MS: String(options.acceptanceTimeoutMs) }
      : {}),
    ...(options.queryTimeoutMs ? { TUSK_QUERY_TIMEOUT_MS: String(options.queryTimeoutMs) } : {}),
    ...options.env,
    ...(options.aztec
      ? {
          TUSK_SETTLEMENT: 'aztec',
          TUSK_AZTEC_NODE_URL: options.aztec.nodeUrl,
          TUSK_AZTEC_DEPLOYMENT: options.aztec.deploymentFile,
          TUSK_ESCROW_SECRET_FILE: options.aztec.escrowSecretFile,
          ...(options.aztec.paymentWindowMs
            ? { TUSK_PAYMENT_WINDOW_MS: String(options.aztec.paymentWindowMs) }
            : {}),
        }
      : {}),
  };
  const specs: Record<string, string> = {
    'deals worker': 'workers/deals.ts',
    'perimeter worker': 'workers/perimeter.ts',
    'settlement worker': 'workers/settlement.ts',
    'coordinator worker': 'workers/coordinator.ts',
    notifier: 'workers/notifier.ts',
    api: 'api/server.ts',
  };
  const envOf: Record<string, Record<string, string>> = {};
  if (options.perimeterConfig) {
    const { TUSK_SELLER_ID, TUSK_SELLER_PUBLIC_KEY, TUSK_DATASETS, TUSK_POLICIES_DIR, ...rest } = env;
    void [TUSK_SELLER_ID, TUSK_SELLER_PUBLIC_KEY, TUSK_DATASETS, TUSK_POLICIES_DIR];
    envOf['perimeter worker'] = { ...rest, TUSK_PERIMETER_CONFIG: options.perimeterConfig };
  }
  for (const extra of options.extraSellers ?? []) {
    const path = join(home, 'data', `${extra.sellerId}-patients.duckdb`);
    await mkdir(join(home, 'data'), { recursive: true });
    await createSyntheticPatients({ path, rows: extra.rows });
    const name = `perimeter worker ${extra.sellerId}`;
    specs[name] = 'workers/perimeter.ts';
    envOf[name] = {
      ...env,
      TUSK_SELLER_ID: extra.sellerId,
      TUSK_SELLER_PUBLIC_KEY: extra.sellerPublicKey,
      TUSK_DATASETS: `patients=${path}`,
      TUSK_POLICIES_DIR: join(options.policiesRoot ?? join(ROOT, 'query-policies'), extra.sellerId),
    };
  }
  // A seller's machine is told where the operator's log is and pins its key, like any other setting.
  if (options.remotePerimeter)
    envOf['perimeter worker'] = {
      TUSK_LOG_URL: env.TUSK_LOG_URL!,
      TUSK_OPERATOR_PUBLIC_KEY: env.TUSK_OPERATOR_PUBLIC_KEY!,
      ...options.remotePerimeter.env,
    };
  const start = (name: string, extraEnv: Record<string, string> = {}) =>
    startService({
      name,
      script: specs[name]!,
      env: { ...(envOf[name] ?? env), ...extraEnv },
      ...(options.remotePerimeter && name === 'perimeter worker'
        ? { cwd: options.remotePerimeter.cwd, isolatedEnv: true }
        : {}),
      readyAs: specs[name] === 'workers/perimeter.ts' ? 'perimeter worker' : name,
      logDir: join(home, 'logs'),
      readyTimeoutMs: 120_000,
      // Only the settlement worker loads the Aztec SDK, which needs the toolchain's Node 22.
      ...(aztec && name === 'settlement worker' ? { node: aztecToolchain().node } : {}),
    });
  const services = new Map<string, Service>();
  const stop = async () => {
    const names = [...services.keys()];
    const endings = await Promise.all(names.map((name) => services.get(name)!.stop()));
    return Object.fromEntries(names.map((name, i) => [name, endings[i]!]));
  };
  try {
    const startedServices = performance.now();
    // Settled, not all: when one fails to start, the others that did must be stopped too.
    // Each process as it answers: together they take from seconds to a minute on a busy machine.
    const startedOne = async (name: string) => {
      const service = await start(name);
      log(`${name} ready (${((performance.now() - startedServices) / 1000).toFixed(1)} s)`);
      return service;
    };
    const started = await Promise.allSettled(Object.keys(specs).map(startedOne));
    for (const outcome of started)
      if (outcome.status === 'fulfilled') services.set(outcome.value.name, outcome.value);
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    log(
      `processes: ${[...services.keys()].join(', ')} (${((performance.now() - startedServices) / 1000).toFixed(1)} s)`,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const apiUrl = `http://127.0.0.1:${apiPort}`;
  // Each party's client signs the deployment's acceptance window, as the CLI signs the one GET
  // /templates suggests: a deal's timer and settlement's hold on its payout both follow the signed one.
  const clientOf = (partyId: string, privateKeyPem: string) => {
    const client = new TuskClient(apiUrl, partyId, privateKeyPem);
    if (options.acceptanceTimeoutMs)
      client.acceptanceWindowSeconds = Math.max(1, Math.ceil(options.acceptanceTimeoutMs / 1000));
    return client;
  };
  return {
    apiUrl,
    buyer: {
      id: 'demo-buyer',
      client: clientOf('demo-buyer', buyerSigning.privateKeyPem),
      signingKeyPem: buyerSigning.privateKeyPem,
      resultKeyPem: buyerResult.privateKeyPem,
      resultPublicKey: buyerResult.publicKey,
    },
    parties: new Map(
      extraKeys.map(({ extra, signing, result }) => [
        extra.id,
        {
          id: extra.id,
          client: clientOf(extra.id, signing.privateKeyPem),
          signingKeyPem: signing.privateKeyPem,
          resultKeyPem: result.privateKeyPem,
          resultPublicKey: result.publicKey,
        },
      ]),
    ),
    sellerId,
    ledger,
    ...(aztec ? { aztec } : {}),
    datasetPath,
    codecKeyFile,
    perimeterStateDir: join(home, 'perimeter', sellerId),
    services,
    async restart(name, extraEnv) {
      const service = await start(name, extraEnv);
      services.set(name, service);
      return service;
    },
    stop,
  };
}
