import type { CloseEvent, Command, Logger } from 'concurrently';
import { Subject } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { afterClose, RestartUnlessStopping } from '../../cli/service/restart-policy';

describe('afterClose: the restart decision', () => {
  const close = { exitCode: 1, stopping: false, restartsSoFar: 0, tries: 3 };

  it('restarts a failure after 1, 2, 4 s while tries remain, then leaves it down', () => {
    const delays = [0, 1, 2].map((restartsSoFar) => afterClose({ ...close, restartsSoFar }));
    expect(delays).toEqual([1000, 2000, 4000].map((delayMs) => ({ restart: true, delayMs })));
    expect(afterClose({ ...close, restartsSoFar: 3 })).toEqual({ restart: false, clean: false });
    expect(afterClose({ ...close, exitCode: 'SIGKILL' })).toEqual({ restart: true, delayMs: 1000 });
  });

  it('never restarts a clean exit, nor anything once stopping began', () => {
    expect(afterClose({ ...close, exitCode: 0 })).toEqual({ restart: false, clean: true });
    expect(afterClose({ ...close, stopping: true })).toEqual({ restart: false, clean: true });
    expect(afterClose({ ...close, exitCode: 'SIGTERM', stopping: true })).toEqual({
      restart: false,
      clean: true,
    });
  });
});

/** A command as the policy sees it: its close events, start, and the name the log line uses. */
function fakeCommand() {
  const close = new Subject<CloseEvent>();
  const start = vi.fn();
  const command = { command: 'workers/deals.ts', close, start } as unknown as Command;
  const closed = (exitCode: number | string) => close.next({ exitCode } as CloseEvent);
  return { command, start, closed };
}

describe('RestartUnlessStopping: no restart and no "restarted" line once stopping began', () => {
  let stopping: boolean;
  let lines: string[];
  let policy: RestartUnlessStopping;
  let passedOn: (number | string)[];
  let fake: ReturnType<typeof fakeCommand>;

  beforeEach(() => {
    vi.useFakeTimers();
    stopping = false;
    lines = [];
    const logger = { logCommandEvent: (text: string) => lines.push(text) } as unknown as Logger;
    policy = new RestartUnlessStopping({ logger, tries: 3, stopping: () => stopping });
    fake = fakeCommand();
    passedOn = [];
    policy.handle([fake.command]).commands[0]!.close.subscribe((event) => passedOn.push(event.exitCode));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('restarts a crashed process after its delay, with one line, and hides that close', () => {
    fake.closed(1);
    vi.advanceTimersByTime(999);
    expect(fake.start).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fake.start).toHaveBeenCalledTimes(1);
    expect(lines).toEqual(['workers/deals.ts restarted']);
    expect(passedOn).toEqual([]);
  });

  it('a restart due when the stop begins is dropped at once: no start, no line, the close passed on', () => {
    fake.closed(1);
    vi.advanceTimersByTime(500);
    stopping = true;
    policy.stop();
    expect(passedOn).toEqual([0]);
    vi.advanceTimersByTime(60_000);
    expect(fake.start).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
    expect(passedOn).toEqual([0]);
  });

  it('a restart whose timer fires after stopping began (stop not yet called) does not start', () => {
    fake.closed('SIGKILL');
    stopping = true;
    vi.advanceTimersByTime(1000);
    expect(fake.start).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
    expect(passedOn).toEqual([0]);
  });

  it('a process that ends while stopping is not restarted and counts as a clean end', () => {
    stopping = true;
    fake.closed(143);
    vi.advanceTimersByTime(60_000);
    expect(fake.start).not.toHaveBeenCalled();
    expect(passedOn).toEqual([0]);
  });

  it('after its last try a failing process stays down and its failure is passed on', () => {
    for (const wait of [1000, 2000, 4000]) {
      fake.closed(1);
      vi.advanceTimersByTime(wait);
    }
    expect(fake.start).toHaveBeenCalledTimes(3);
    fake.closed(1);
    vi.advanceTimersByTime(60_000);
    expect(fake.start).toHaveBeenCalledTimes(3);
    expect(lines).toHaveLength(3);
    expect(passedOn).toEqual([1]);
  });
});
