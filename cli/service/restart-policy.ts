import type { CloseEvent, Command, FlowController, Logger } from 'concurrently';
import { Subject } from 'rxjs';

/** What the supervisor does when a process closes: pass the close on, or restart it after a delay. */
export type AfterClose = { restart: false; clean: boolean } | { restart: true; delayMs: number };

/**
 * A failed process is restarted after 1, 2, 4, 8… s while tries remain. A clean exit, a failure past
 * the last try, or any close once stopping began is passed on, and the process stays down; a close
 * once stopping counts as clean (the stop ended it).
 */
export function afterClose(close: {
  exitCode: number | string;
  stopping: boolean;
  restartsSoFar: number;
  tries: number;
}): AfterClose {
  if (close.stopping) return { restart: false, clean: true };
  if (close.exitCode === 0 || close.restartsSoFar >= close.tries)
    return { restart: false, clean: close.exitCode === 0 };
  return { restart: true, delayMs: 2 ** close.restartsSoFar * 1000 };
}

/**
 * concurrently's restart policy (exponential delay, a "restarted" line), except that stopping wins:
 * a restart still waiting when the stop begins is dropped and its close passed on as clean, so no
 * process comes back and no "restarted" line appears once stopping began. (concurrently's own
 * RestartProcess restarts on its timer whatever happened meanwhile, and its KillOnSignal knows
 * SIGINT only and kills every process at once, where the supervisor stops them in order.)
 */
export class RestartUnlessStopping implements FlowController {
  private readonly waiting = new Map<ReturnType<typeof setTimeout>, () => void>();

  constructor(private readonly options: { logger: Logger; tries: number; stopping: () => boolean }) {}

  handle(commands: Command[]): { commands: Command[] } {
    return { commands: commands.map((command) => this.supervise(command)) };
  }

  /** The stop began: every restart still waiting is dropped now, its close passed on. */
  stop(): void {
    for (const [timer, drop] of this.waiting) {
      clearTimeout(timer);
      drop();
    }
    this.waiting.clear();
  }

  private supervise(command: Command): Command {
    const closes = new Subject<CloseEvent>();
    const passOn = (event: CloseEvent, clean: boolean) =>
      closes.next(clean ? { ...event, exitCode: 0 } : event);
    let restarts = 0;
    command.close.subscribe((event) => {
      const next = afterClose({
        exitCode: event.exitCode,
        stopping: this.options.stopping(),
        restartsSoFar: restarts,
        tries: this.options.tries,
      });
      if (!next.restart) return passOn(event, next.clean);
      restarts++;
      const timer = setTimeout(() => {
        this.waiting.delete(timer);
        if (this.options.stopping()) return passOn(event, true);
        this.options.logger.logCommandEvent(`${command.command} restarted`, command);
        command.start();
      }, next.delayMs);
      this.waiting.set(timer, () => passOn(event, true));
    });
    // Later readers see only the closes passed on; the command's own methods keep acting on itself.
    return new Proxy(command, {
      get: (target, property) => {
        if (property === 'close') return closes;
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}
