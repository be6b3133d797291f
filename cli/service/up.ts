import { access, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createOnce, newKeyFileJson } from '../../lib/codec/keyring';
import { loadOperatorSigner } from '../../lib/audit/operator-key';
import { formatTable } from '../format-table';
import { CliError } from '../common';
import { prepareDemoSeller } from './demo-seller';
import { freeLoopbackPorts } from '../../scripts/lib/stack';
import { infrastructure } from './infrastructure';
import { metricsPort, ROOT, tuskProcess, type TuskProcess } from './processes';
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
  restartTries: number;
}

const INFRASTRUCTURE_READY_MS = 300_000;
const PROCESSES_READY_MS = 180_000;
const SELLER_VARIABLES = ['TUSK_SELLER_ID', 'TUSK_SELLER_PUBLIC_KEY', 'TUSK_DATASETS'];

/** `tusk up`: runs the service on this machine until Ctrl-C, supervised. */
export async function up(options: UpOptions): Promise<void> {
  const home = resolve(options.home);
  const logDir = join(home, 'logs');
  await mkdir(logDir, { recursive: true });
  const say = (line: string) => process.stdout.write(`tusk up: ${line}\n`);
  let started = false;
  let lastView = '';
  const supervisor = new Supervisor({
    logDir,
    statusFile: join(home, 'up.json'),
    restartTries: options.restartTries,
    out: process.stdout,
    onChange: (statuses) => {
      if (!started) return;
      const view = statusView(statuses);
      if (view !== lastView) process.stdout.write(`\n${view}\n\n`);
      lastView = view;
    },
  });
  try {
    const specs = options.perimeter
      ? perimeterOnly(options)
      : await wholeService(options, home, supervisor, say);
    await supervisor.start(specs, PROCESSES_READY_MS);
    started = true;
    lastView = statusView(supervisor.list());
    say(`running; logs (JSON lines) in ${logDir}; Ctrl-C stops everything\n\n${lastView}\n`);
  } catch (error) {
    if (!supervisor.stopping) {
      say(`could not start: ${error instanceof Error ? error.message : String(error)}; stopping`);
      supervisor.stopAll();
    }
    await supervisor.finished();
    if (!supervisor.stopping) throw error;
    say('stopped');
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
): Promise<ProcessSpec[]> {
  const infra = await infrastructure(
    home,
    { temporal: options.temporalPort, ui: options.uiPort, redis: options.redisPort },
    say,
  );
  if (infra.specs.length > 0) {
    say(`starting ${infra.specs.map((spec) => spec.name).join(' and ')}…`);
    await supervisor.start(infra.specs, INFRASTRUCTURE_READY_MS);
  }
  if (infra.uiUrl) say(`Temporal Web UI: ${infra.uiUrl}`);

  const partiesFile = process.env.TUSK_PARTIES_FILE || join(home, 'parties.json');
  if (!(await exists(partiesFile))) await writeFile(partiesFile, '{ "parties": [] }\n');
  const codecKeyFile = process.env.TUSK_CODEC_KEY_FILE || join(home, 'codec-keys.json');
  await createOnce(codecKeyFile, newKeyFileJson('local-1'));
  // The perimeter pins the operator's log key: made now, before the API would make it on first start.
  const operator = await loadOperatorSigner(
    process.env.TUSK_OPERATOR_SIGNING_KEY_FILE || join(home, 'keys', 'operator-signing.ed25519.pem'),
  );
  // Port 0 is resolved here, not by the API: the perimeter must know where the log is before it starts.
  const apiPort = options.apiPort === 0 ? (await freeLoopbackPorts(1))[0]! : options.apiPort;
  const env: Record<string, string> = {
    TUSK_HOME: home,
    TEMPORAL_ADDRESS: infra.temporalAddress,
    REDIS_URL: infra.redisUrl,
    TUSK_PARTIES_FILE: partiesFile,
    TUSK_CODEC_KEY_FILE: codecKeyFile,
    TUSK_API_PORT: String(apiPort),
    TUSK_LOG_URL: `http://127.0.0.1:${apiPort}`,
    TUSK_OPERATOR_PUBLIC_KEY: operator.publicKey,
    TUSK_POLICIES_ROOT: process.env.TUSK_POLICIES_ROOT || join(ROOT, 'query-policies'),
    ...(infra.uiUrl ? { TUSK_CODEC_UI_ORIGIN: infra.uiUrl } : {}),
  };
  const seller = options.demoRows
    ? await prepareDemoSeller(home, partiesFile, options.demoRows, say)
    : sellerFromEnvironment();
  const names: TuskProcess[] = ['api', 'deals worker', 'settlement worker', 'coordinator worker', 'notifier'];
  if (seller) names.push('perimeter worker');
  else
    say(
      'no seller configured (TUSK_SELLER_ID, TUSK_SELLER_PUBLIC_KEY, TUSK_DATASETS, or --demo-rows): no perimeter here',
    );
  return names.map((name) =>
    tuskProcess(name, {
      ...env,
      ...(name === 'perimeter worker' ? seller : {}),
      TUSK_METRICS_PORT: metricsPort(options.metricsPort, name),
    }),
  );
}

/** A seller's perimeter alone: Temporal and the blob store are the operator's, named by the environment. */
function perimeterOnly(options: UpOptions): ProcessSpec[] {
  const missing = ['TEMPORAL_ADDRESS', ...SELLER_VARIABLES].filter((name) => !process.env[name]);
  if (missing.length > 0)
    throw new CliError(`tusk up --perimeter needs ${missing.join(', ')} in the environment`, 2);
  return [
    tuskProcess('perimeter worker', {
      TUSK_HOME: resolve(options.home),
      TUSK_METRICS_PORT: metricsPort(options.metricsPort, 'perimeter worker'),
    }),
  ];
}

function sellerFromEnvironment(): Record<string, string> | undefined {
  if (!SELLER_VARIABLES.every((name) => process.env[name])) return undefined;
  return {};
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
