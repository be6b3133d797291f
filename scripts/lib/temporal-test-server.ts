import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';

type Log = (line: string) => void;

/**
 * Temporal's time-skipping test server, as the Java SDK publishes it on Maven Central (MIT). The
 * TypeScript SDK would download its own build from temporal.download, which these machines cannot
 * reach; `TestWorkflowEnvironment.createTimeSkipping` runs this one through a launcher script
 * (`<launcher> <port> --enable-time-skipping`, the arguments the SDK passes).
 */
export const TEST_SERVER_VERSION = '1.31.0';
const TEST_SERVER_MAIN = 'io.temporal.testserver.TestServer';

export function testServerDir(): string {
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(cacheHome, 'tusk', `temporal-test-server-${TEST_SERVER_VERSION}`);
}

const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tusk</groupId><artifactId>temporal-test-server-fetch</artifactId><version>1</version>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId>
      <version>${TEST_SERVER_VERSION}</version>
    </dependency>
  </dependencies>
</project>
`;

async function executable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error) => reject(new Error(`${command}: ${error.message}`)));
    child.once('exit', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${output.slice(-2000)}`)),
    );
  });
}

/**
 * `TEMPORAL_TEST_SERVER` → the launcher installed earlier → Maven fetches the jars (about half a
 * minute, once per machine; needs `java` 11+ and `mvn`). Returns the launcher's path.
 */
export async function findOrInstallTestServer(log: Log): Promise<string> {
  const fromEnv = process.env.TEMPORAL_TEST_SERVER;
  if (fromEnv) {
    if (await executable(fromEnv)) return fromEnv;
    throw new Error(`TEMPORAL_TEST_SERVER=${fromEnv} is not an executable file`);
  }
  const dir = testServerDir();
  const launcher = path.join(dir, 'temporal-test-server');
  if (await executable(launcher)) return launcher;
  await run('java', ['-version'], tmpdir()).catch(() => {
    throw new Error(
      'the time-skipping test server needs Java 11 or newer (apt-get install default-jre-headless)',
    );
  });
  log(`temporal test server: fetching ${TEST_SERVER_VERSION} from Maven Central (first time only)…`);
  const work = await mkdtemp(path.join(tmpdir(), 'tusk-test-server-'));
  try {
    await writeFile(path.join(work, 'pom.xml'), POM);
    await run(
      'mvn',
      [
        '-q',
        '-B',
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${path.join(work, 'lib')}`,
      ],
      work,
    ).catch((error: Error) => {
      throw new Error(
        `Maven could not fetch io.temporal:temporal-test-server:${TEST_SERVER_VERSION}: ${error.message}`,
      );
    });
    const staged = path.join(work, 'install');
    await mkdir(staged);
    await rename(path.join(work, 'lib'), path.join(staged, 'lib'));
    const script = `#!/bin/sh\n# Temporal's time-skipping test server (Java SDK ${TEST_SERVER_VERSION}); arguments: <port> [--enable-time-skipping]\nexec java -cp "${path.join(dir, 'lib')}/*" ${TEST_SERVER_MAIN} "$@"\n`;
    await writeFile(path.join(staged, 'temporal-test-server'), script);
    await chmod(path.join(staged, 'temporal-test-server'), 0o755);
    await mkdir(path.dirname(dir), { recursive: true });
    // Whole or not at all: another run that installed it meanwhile wins, and this copy is dropped.
    await rename(staged, dir).catch(async (error: NodeJS.ErrnoException) => {
      if (!(await executable(launcher))) throw error;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  log(`temporal test server: installed in ${dir}`);
  return launcher;
}
