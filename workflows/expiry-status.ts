import { EXPIRY_WAIT_NOTE, type ExpiryWait } from './deal/shapes';

/**
 * A deal's wait for its perimeter(s) to confirm expiry, as its status shows it. Pure, shared by the
 * one-seller and multi-seller states (and unit-tested with them).
 */
export class ExpiryStatus {
  private wait: ExpiryWait | undefined;

  get view(): ExpiryWait | undefined {
    return this.wait && { ...this.wait };
  }

  begin(notAfter: number, pending: number, now: number): void {
    this.wait = { note: EXPIRY_WAIT_NOTE, notAfter, since: now, missedAsks: 0, pending };
  }

  /** An ask went unanswered (`code`): the next goes out at `nextAskAt`. */
  missed(code: string, nextAskAt: number): void {
    if (!this.wait) return;
    this.wait = { ...this.wait, missedAsks: this.wait.missedAsks + 1, lastCode: code, nextAskAt };
  }

  /** One perimeter answered. */
  answered(): void {
    if (!this.wait) return;
    const { nextAskAt: _next, ...rest } = this.wait;
    this.wait = { ...rest, pending: Math.max(0, rest.pending - 1) };
  }
}

/** How long the workflow waits before asking an unreachable perimeter again: doubling, up to 30 minutes. */
export function expiryAskBackoffMs(missedAsks: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, missedAsks - 1), 30 * 60_000);
}
