import { access, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createOnce, newKeyFileJson } from '../../lib/codec/keyring';
import { loadOperatorSigner } from '../../lib/transparency/operator-key';
import { formatTable } from '../../lib/format-table';
import { CliError } from '../common';
import { DEMO_SELLER, prepareDemoSeller } from './demo-seller';
import { infrastructure, portToUse } from './infrastructure';
import { registerOperatorServices } from '../../lib/service-parties';
import { claimHome, portOf, readUpFile, statusFile, type ServiceAddresses } from './instance';
import {
  configuredSellers,
  perimeterEnvironment,
  registerPerimeterKey,
  type ConfiguredSeller,
} from './sellers';
import { metricsPort, tuskProcess } from './processes';
import { catalogRoot } from '../../lib/env';
import { Supervisor, type ProcessSpec, type ProcessStatus } from './supervisor';

export interface UpOptions {
  home: string;
  /** Only a seller's perimeter worker, against a remote Temporal and blob store. */
  perimeter: boolean;
  apiPort: number;
  /** Workers' /metrics and /health from this port on; 0: any free port each. */
  metricsPort: number;
  temporalPort: number;
  uiPort: number;
  redisPort: number;
  /** Prepare and run the demo seller's perimeter with this many synthetic rows. */
  demoRows?: number;
  /** Sellers' perimeter.json files (or their directories); none: every one under `<home>/sellers`. */
  seller: string[];
  restartTries: number;
}

const INFRASTRUCTURE_READY_MS = 300_000;
const PROCESSES_READY_MS = 180_000;
const SELLER_VARIABLES = ['TUSK_SELLER_ID', 'TUSK_SELLER_PUBLIC_KEY', 'TUSK_DATASETS'];

/** `tusk up`: runs the service on this machine until Ctrl-C or `tusk down`, supervised. */
export async function up(options: UpOptions): Promise<void> {
  const home = resolve(options.home);
  const logDir = join(home, 'logs');
  await mkdir(logDir, { recursive: true });
  const release = await claimHome(home);
  try {
    await supervise(options, home, logDir);
  } finally {
    release();
  }
}

async function supervise(options: UpOptions, home: string, logDir: string): Promise<void> {
  const say = (line: string) => process.stdout.write(`tusk up: ${line}\n`);
  const previous = (await readUpFile(home))?.addresses ?? {};
  const addresses: ServiceAddresses = {};
  let started = false;
  let lastView = '';
  const supervisor = new Supervisor({
    logDir,
    statusFile: statusFile(home),
    restartTries: options.restartTries,
    out: process.stdout,
    about: () => ({ pid: process.pid, addresses }),
    onChange: (statuses) => {
      if (!started) return;
      const view = statusView(statuses);
      if (view !== lastView) process.stdout.write(`\n${view}\n\n`);
      lastView = view;
    },
  });
  try {
    const specs = options.perimeter
      ? await perimeterOnly(options, home)
      : await wholeService(options, home, supervisor, say, { previous, addresses });
    await supervisor.start(specs, PROCESSES_READY_MS);
    started = true;
    lastView = statusView(supervisor.list());
    say(
      `running; logs (JSON lines) in ${logDir}; Ctrl-C or \`tusk down --home ${options.home}\` stops everything\n\n${lastView}\n`,
    );
  } catch (error) {
    const stoppedByUser = supervisor.stopping;
    if (!stoppedByUser) {
      say(`could not start: ${error instanceof Error ? error.message : String(error)}; stopping`);
      supervisor.stopAll();
    }
    await supervisor.finished();
    if (error instanceof CliError) throw error;
    say('stopped');
    if (!stoppedByUser) process.exitCode = 1;
    return;
  }
  await supervisor.finished();
  say(supervisor.stopping ? 'stopped' : 'a process failed too often and was not restarted again');
  if (!supervisor.stopping) process.exitCode = 1;
}

async function wholeService(
  options: UpOptions,
  home: string,
  supervisor: Supervisor,
  say: (line: string) => void,
  ports: { previous: ServiceAddresses; addresses: ServiceAddresses },
): Promise<ProcessSpec[]> {
  const { previous, addresses } = ports;
  const sellers = await configuredSellers(home, options.seller);
  const infra = await infrastructure(
    home,
    {
      temporal: options.temporalPort,
      ui: options.uiPort,
      redis: options.redisPort,
      previous: {
        temporal: portOf(previous.temporal),
        ui: portOf(previous.ui),
        redis: portOf(previous.redis),
      },
    },
    say,
  );
  Object.assign(addresses, {
    temporal: infra.temporalAddress,
    redis: infra.redisUrl,
    ...(infra.uiUrl ? { ui: infra.uiUrl } : {}),
  });
  if (infra.specs.length > 0) {
    say(`starting ${infra.specs.map((spec) => spec.name).join(' and ')}…`);
    await supervisor.start(infra.specs, INFRASTRUCTURE_READY_MS);
  }
  if (infra.uiUrl) say(`Temporal Web UI: ${infra.uiUrl}`);

  const partiesFile = process.env.TUSK_PARTIES_FILE || join(home, 'parties.json');
  if (!(await exists(partiesFile))) await writeFile(partiesFile, '{ "parties": [] }\n');
  // Settlement and the coordinator sign their questions to the key log as parties of their own.
  await registerOperatorServices(partiesFile, home);
  const codecKeyFile = process.env.TUSK_CODEC_KEY_FILE || join(home, 'codec-keys.json');
  await createOnce(codecKeyFile, newKeyFileJson('local-1'));
  // The perimeter pins the operator's log key: made now, before the API would make it on first start.
  const operator = await loadOperatorSigner(
    process.env.TUSK_OPERATOR_SIGNING_KEY_FILE || join(home, 'keys', 'operator-signing.ed25519.pem'),
  );
  // What receipt, log and audit commands pin (--operator-key): its holder hands it out from here.
  say(`operator key (pin it: --operator-key or TUSK_OPERATOR_KEY): ${operator.publicKey}`);
  // Port 0 is resolved here, not by the API: the perimeter must know where the log is before it starts.
  const apiPort = await portToUse(options.apiPort, portOf(previous.api));
  addresses.api = `http://127.0.0.1:${apiPort}`;
  const env: Record<string, string> = {
    TUSK_HOME: home,
    TEMPORAL_ADDRESS: infra.temporalAddress,
    REDIS_URL: infra.redisUrl,
    TUSK_PARTIES_FILE: partiesFile,
    TUSK_CODEC_KEY_FILE: codecKeyFile,
    TUSK_API_PORT: String(apiPort),
    TUSK_LOG_URL: addresses.api,
    TUSK_OPERATOR_PUBLIC_KEY: operator.publicKey,
    TUSK_POLICIES_ROOT: catalogRoot(home),
    ...(infra.uiUrl ? { TUSK_CODEC_UI_ORIGIN: infra.uiUrl } : {}),
  };
  const services = (
    ['api', 'deals worker', 'settlement worker', 'coordinator worker', 'notifier'] as const
  ).map((name) => tuskProcess(name, { ...env, TUSK_METRICS_PORT: metricsPort(options.metricsPort, name) }));
  const perimeters = await perimeterWorkers(options, home, partiesFile, sellers, say);
  return [
    ...services,
    ...perimeters.map(({ label, env: own }, index) =>
      tuskProcess(
        'perimeter worker',
        { ...env, ...own, TUSK_METRICS_PORT: metricsPort(options.metricsPort, 'perimeter worker', index) },
        label,
      ),
    ),
  ];
}

/** Each seller's perimeter: the demo seller, every configured perimeter.json, or one from variables. */
async function perimeterWorkers(
  options: UpOptions,
  home: string,
  partiesFile: string,
  sellers: ConfiguredSeller[],
  say: (line: string) => void,
): Promise<{ label: string; env: Record<string, string> }[]> {
  for (const seller of sellers) await registerPerimeterKey(seller, home, partiesFile, say);
  const workers: { sellerId: string; env: Record<string, string> }[] = sellers.map((seller) => ({
    sellerId: seller.sellerId,
    env: perimeterEnvironment(seller, false),
  }));
  if (options.demoRows)
    workers.unshift({
      sellerId: DEMO_SELLER,
      env: await prepareDemoSeller(home, partiesFile, options.demoRows, say),
    });
  else if (workers.length === 0 && SELLER_VARIABLES.every((name) => process.env[name]))
    workers.push({ sellerId: process.env.TUSK_SELLER_ID!, env: {} });
  if (workers.length === 0)
    say(
      `no seller here: no perimeter.json under ${join(home, 'sellers')} (\`tusk seller init\`), ` +
        'no --seller, --demo-rows or TUSK_SELLER_ID/TUSK_SELLER_PUBLIC_KEY/TUSK_DATASETS; the service runs without a perimeter',
    );
  else say(`perimeters: ${workers.map((worker) => worker.sellerId).join(', ')}`);
  // One seller keeps the plain name; several are told apart by seller.
  return workers.map(({ sellerId, env }) => ({
    label: workers.length === 1 ? 'perimeter worker' : `perimeter worker ${sellerId}`,
    env,
  }));
}

/**
 * A seller's perimeter alone: Temporal and the blob store are the operator's, named by the
 * environment; the seller comes from its perimeter.json (as for the whole service) or variables.
 */
async function perimeterOnly(options: UpOptions, home: string): Promise<ProcessSpec[]> {
  if (!process.env.TEMPORAL_ADDRESS)
    throw new CliError(
      "tusk up --perimeter needs TEMPORAL_ADDRESS (the operator's Temporal) in the environment",
      2,
    );
  const sellers = await configuredSellers(home, options.seller);
  if (sellers.length === 0) {
    const missing = SELLER_VARIABLES.filter((name) => !process.env[name]);
    if (missing.length > 0)
      throw new CliError(
        `tusk up --perimeter found no perimeter.json under ${join(home, 'sellers')} and no --seller; ` +
          `or set ${missing.join(', ')}`,
        2,
      );
  }
  const base = { TUSK_HOME: home };
  if (sellers.length === 0)
    return [
      tuskProcess('perimeter worker', {
        ...base,
        TUSK_METRICS_PORT: metricsPort(options.metricsPort, 'perimeter worker'),
      }),
    ];
  return sellers.map((seller, index) =>
    tuskProcess(
      'perimeter worker',
      {
        ...base,
        ...perimeterEnvironment(seller, true),
        TUSK_METRICS_PORT: metricsPort(options.metricsPort, 'perimeter worker', index),
      },
      sellers.length === 1 ? 'perimeter worker' : `perimeter worker ${seller.sellerId}`,
    ),
  );
}

function statusView(statuses: ProcessStatus[]): string {
  return formatTable(
    ['process', 'state', 'pid', 'restarts', 'serves'],
    statuses.map((s) => [s.name, s.state, s.pid, s.restarts, s.shows]),
  );
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
