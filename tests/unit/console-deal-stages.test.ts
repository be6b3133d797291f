import { describe, expect, it } from 'vitest';
import { DEAL_STAGES, RESTING_DEAL_STAGES } from '../../workflows/deal/shapes';

/** The console's plain ES module (no declaration file: the page has no build step). */
const CONSOLE_STAGES: string = '../../api/console/assets/deal-stages.js';

describe("the console's copy of the deal stages", () => {
  it('stops following a deal exactly where the workflow says a deal rests', async () => {
    const { RESTING_DEAL_STAGES: inConsole } = (await import(CONSOLE_STAGES)) as {
      RESTING_DEAL_STAGES: readonly string[];
    };
    expect([...inConsole].sort()).toEqual([...RESTING_DEAL_STAGES].sort());
    for (const stage of inConsole) expect(DEAL_STAGES).toContain(stage);
  });
});
