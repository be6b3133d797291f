import type { Command, FlowController } from 'concurrently';
import { map } from 'rxjs/operators';

/**
 * Once the supervisor is stopping, a process that ends counts as a clean exit, so the restart policy
 * after this controller never brings it back. (concurrently's own KillOnSignal does so for SIGINT
 * only, and kills every process at once; the supervisor stops them in order.)
 */
export class CleanExitWhenStopping implements FlowController {
  constructor(private readonly stopping: () => boolean) {}

  handle(commands: Command[]) {
    return {
      commands: commands.map((command) => {
        const close = command.close.pipe(
          map((event) => (this.stopping() ? { ...event, exitCode: 0 } : event)),
        );
        return new Proxy(command, {
          get: (target, property, receiver) =>
            property === 'close' ? close : (Reflect.get(target, property, receiver) as unknown),
        });
      }),
    };
  }
}
