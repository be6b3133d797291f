import { createWriteStream, type WriteStream } from 'node:fs';
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createConcurrently,
  LogError,
  LogExit,
  LogOutput,
  Logger,
  type Command,
  type CloseEvent,
} from 'concurrently';
import { RestartUnlessStopping } from './restart-policy';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const STOP_GRACE_MS = 15_000;
const LAST_OUTPUT_CHARS = 1_500;
const DEATHS_BEFORE_READY = 2;

/** One supervised process. */
export interface ProcessSpec {
  name: string;
  argv: string[];
  env: Record<string, string>;
  /** Ready once this text appears in its output, or once the probe resolves. */
  ready: { line: string } | { probe: () => Promise<void> };
  /** What to show beside it before it reports its own addresses. */
  shows?: string;
}

export type ProcessState = 'starting' | 'ready' | 'exited' | 'stopped';

export interface ProcessStatus {
  name: string;
  pid: number | null;
  state: ProcessState;
  restarts: number;
  /** The URLs it announced when ready (API, /metrics), or what the spec shows. */
  shows: string;
}

export interface SupervisorOptions {
  logDir: string;
  /** Where the status view is kept for other tools (tests, `tusk up` itself): JSON. */
  statusFile: string;
  restartTries: number;
  out: Writable;
  /** Called on every change of any process's state. */
  onChange?: (statuses: ProcessStatus[]) => void;
  /** More for the status file beside the processes (the supervisor's pid, the service's addresses). */
  about?: () => Record<string, unknown>;
}

/**
 * Runs processes under concurrently: each one's output is prefixed with its name on `out` and kept
 * whole (JSON lines) in `<logDir>/<name>.log`; a process that exits with a failure, or is killed,
 * is restarted after 1, 2, 4, 8… s up to `restartTries` times (./restart-policy.ts); Ctrl-C, SIGTERM
 * or SIGHUP stops all of them, and no restart follows once stopping began.
 */
export class Supervisor {
  private readonly statuses = new Map<string, ProcessStatus>();
  private readonly groups: {
    commands: Command[];
    restarts: RestartUnlessStopping;
    result: Promise<CloseEvent[]>;
  }[] = [];
  private stoppedBy: NodeJS.Signals | undefined;
  private writes = 0;

  constructor(private readonly options: SupervisorOptions) {
    for (const signal of SIGNALS) process.on(signal, this.onSignal);
  }

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.stoppedBy) return;
    this.stoppedBy = signal;
    this.options.out.write(`\ntusk up: ${signal}: stopping every process…\n`);
    // Before anything is killed: a restart still waiting would bring a process back mid-stop.
    for (const group of this.groups) group.restarts.stop();
    void this.stopInOrder().finally(() => {
      for (const each of SIGNALS) process.off(each, this.onSignal);
    });
  };

  /**
   * The last group started stops first (the API and workers before Temporal and Redis, which they
   * need to shut down cleanly); a process still running after the grace period is killed.
   */
  private async stopInOrder(): Promise<void> {
    for (const group of [...this.groups].reverse()) {
      for (const command of group.commands) command.kill('SIGTERM');
      const escalation = setTimeout(() => {
        for (const command of group.commands) if (command.pid && !command.exited) command.kill('SIGKILL');
      }, STOP_GRACE_MS);
      await group.result;
      clearTimeout(escalation);
    }
  }

  get stopping(): boolean {
    return this.stoppedBy !== undefined;
  }

  /** Starts a group of processes and resolves once every one is ready (or rejects if stopped first). */
  async start(specs: ProcessSpec[], readyTimeoutMs: number): Promise<void> {
    if (this.stopping) throw new Error('stopped before every process was started');
    const logger = new Logger({ prefixFormat: 'name', raw: false });
    const restarts = new RestartUnlessStopping({
      logger,
      tries: this.options.restartTries,
      stopping: () => this.stopping,
    });
    const { commands, result } = createConcurrently(
      specs.map((spec) => ({
        name: spec.name,
        // exec: the supervised pid is the process itself, not a shell around it.
        command: `exec ${spec.argv.map(shellQuote).join(' ')}`,
        env: spec.env,
      })),
      {
        logger,
        outputStream: this.options.out,
        controllers: [new LogError({ logger }), new LogOutput({ logger }), new LogExit({ logger }), restarts],
        prefixColors: ['auto'],
      },
    );
    this.groups.push({ commands, restarts, result: result.catch((events: CloseEvent[]) => events) });
    const waits = commands.map((command, index) => this.follow(command, specs[index]!));
    const deadline = sleep(readyTimeoutMs, undefined, { ref: false }).then(() => {
      throw new Error(`not ready within ${readyTimeoutMs / 1000} s: ${this.notReady(specs).join(', ')}`);
    });
    await Promise.race([Promise.all(waits), deadline]);
  }

  /** Resolves once every group has ended (after a signal, or when restarts are exhausted). */
  async finished(): Promise<void> {
    await Promise.all(this.groups.map((group) => group.result));
  }

  /** Stops every process as Ctrl-C would. */
  stopAll(): void {
    this.onSignal('SIGTERM');
  }

  list(): ProcessStatus[] {
    return [...this.statuses.values()];
  }

  private notReady(specs: ProcessSpec[]): string[] {
    return specs.filter((spec) => this.statuses.get(spec.name)?.state !== 'ready').map((spec) => spec.name);
  }

  private follow(command: Command, spec: ProcessSpec): Promise<void> {
    const log = createWriteStream(join(this.options.logDir, `${spec.name.replaceAll(' ', '-')}.log`), {
      flags: 'a',
    });
    const status: ProcessStatus = {
      name: spec.name,
      pid: null,
      state: 'starting',
      restarts: -1,
      shows: spec.shows ?? '',
    };
    this.statuses.set(spec.name, status);
    let everReady = false;
    let resolveReady: () => void = () => {};
    let failedToStart: (error: Error) => void = () => {};
    const firstReady = new Promise<void>((resolve, reject) => {
      resolveReady = resolve;
      failedToStart = reject;
      void this.whenStopping().then(() => reject(new Error('stopped before every process was ready')));
    });
    const becameReady = () => {
      everReady = true;
      resolveReady();
    };
    // What it said last: a process that dies before it was ever ready is a setup problem, shown at once.
    let lastOutput = '';
    const remember = (chunk: Buffer) => {
      lastOutput = (lastOutput + chunk.toString()).slice(-LAST_OUTPUT_CHARS);
    };
    const update = (change: Partial<ProcessStatus>) => {
      Object.assign(status, change);
      this.changed();
    };
    // The timer's start event comes once the child's pid is known (stateChange comes before).
    const started = () => {
      update({ pid: command.pid ?? null, state: 'starting', restarts: status.restarts + 1 });
      if ('probe' in spec.ready)
        void this.probeUntilReady(command, spec.ready.probe, () => {
          update({ state: 'ready' });
          becameReady();
        });
    };
    command.timer.subscribe(({ endDate }) => {
      if (!endDate) started();
    });
    // concurrently spawns the first run before this subscribes.
    if (command.pid !== undefined) started();
    let diedUnready = 0;
    command.stateChange.subscribe((state) => {
      if (state === 'started') return;
      update({ pid: null, state: this.stopping ? 'stopped' : 'exited' });
      // Once may be a race with a neighbour still starting; twice is a setup problem. (The restart
      // controller hides the closes it restarts, so exits are counted here.)
      if (everReady || this.stopping || ++diedUnready < DEATHS_BEFORE_READY) return;
      failedToStart(
        new Error(
          `${spec.name} exited ${diedUnready} times before it was ever ready; its last output:\n${lastOutput.trimEnd() || '(nothing)'}`,
        ),
      );
    });
    const readyLine = 'line' in spec.ready ? spec.ready.line : undefined;
    const watch = (chunk: Buffer) => {
      tee(log, chunk);
      remember(chunk);
      if (readyLine === undefined || status.state === 'ready') return;
      const text = chunk.toString();
      if (!text.includes(readyLine)) return;
      const line = text.split('\n').find((candidate) => candidate.includes(readyLine)) ?? '';
      const urls = [...line.matchAll(/https?:\/\/[^\s,"]+/g)].map((match) => match[0]);
      update({ state: 'ready', ...(urls.length > 0 ? { shows: urls.join(' ') } : {}) });
      becameReady();
    };
    command.stdout.subscribe(watch);
    command.stderr.subscribe((chunk) => {
      tee(log, chunk);
      remember(chunk);
    });
    command.close.subscribe(() => undefined);
    return firstReady;
  }

  private async probeUntilReady(
    command: Command,
    probe: () => Promise<void>,
    ready: () => void,
  ): Promise<void> {
    const pid = command.pid;
    while (!this.stopping && command.pid === pid && command.state === 'started') {
      try {
        await probe();
        ready();
        return;
      } catch {
        await sleep(250);
      }
    }
  }

  private whenStopping(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (this.stopping ? resolve() : setTimeout(check, 100).unref());
      check();
    });
  }

  private changed(): void {
    const statuses = this.list();
    const about = this.options.about?.() ?? {};
    const json = `${JSON.stringify({ updatedAt: new Date().toISOString(), ...about, processes: statuses }, null, 2)}\n`;
    const temp = `${this.options.statusFile}.${process.pid}.${this.writes++}.tmp`;
    void writeFile(temp, json)
      .then(() => rename(temp, this.options.statusFile))
      .catch(() => undefined);
    this.options.onChange?.(statuses);
  }
}

function tee(log: WriteStream, chunk: Buffer): void {
  log.write(chunk);
}

/** Quotes one argument for /bin/sh. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
