import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyPaths, writeFileAtomic } from '../../cli/common';
import type { ExtensionFinding } from '../../cli/sponsor/extensions';
import { grantWorkflowId } from '../../lib/ids/workflow-ids';
import { extendMilestone } from '../../lib/signed-actions';
import { extendDeadlineUpdate } from '../../workflows/grant/workflow';
import { tusk } from './cli/run-tusk';
import { startSignedGrant } from './operator-grant';
import { startTestDeployment, type TestDeployment } from './harness';
import { LIFECYCLE_PARTIES, party, signedBy, terminateRunning } from './lifecycle-harness';

/**
 * Settlement honours a sponsor's extension only when it is in the transparency log; the API logs each
 * one it accepts. The operator can still send the sponsor's signed extension straight to the workflow,
 * past the API and so past the log: the grantee is then shown a deadline settlement will not keep.
 * `tusk sponsor grant extensions` is the grantee's check of what it is shown.
 */
describe('the grantee checks the deadline extensions it is shown against the log', () => {
  let test: TestDeployment;
  let keyHome: string;
  const running: string[] = [];

  beforeAll(async () => {
    test = await startTestDeployment('extension-log', async () => undefined, { parties: LIFECYCLE_PARTIES });
    keyHome = await mkdtemp(join(tmpdir(), 'tusk-extension-keys-'));
    for (const id of ['sponsor', 'lab']) {
      const identity = party(test, id);
      await writeFileAtomic(keyPaths(keyHome, id).signing, identity.signingKeyPem, 0o600);
    }
  });
  afterAll(async () => {
    if (test) await terminateRunning(test.temporal, running);
    await test?.close();
    if (keyHome) await rm(keyHome, { recursive: true, force: true });
  });

  const check = (grantId: string) =>
    tusk(['sponsor', 'grant', 'extensions', grantId, '--as', 'lab', '--json'], {
      TUSK_HOME: keyHome,
      TUSK_API_URL: test.deployment.apiUrl,
    });

  it('an extension through the API is logged; one sent straight to the workflow is named as not binding', async () => {
    const sponsor = party(test, 'sponsor');
    const lab = party(test, 'lab');
    const grantId = `extension-log-${crypto.randomUUID()}`;
    running.push(grantWorkflowId(grantId));
    const deadline = Date.now() + 10 * 60_000;
    const { handle, active } = await startSignedGrant(test, {
      grantId,
      sponsorId: sponsor.id,
      granteeId: lab.id,
      deadline: deadline,
      amount: '500',
    });
    const none = await check(grantId);
    expect(none.code, none.stderr).toBe(0);
    expect(JSON.parse(none.stdout)).toEqual([]);

    // The sponsor extends through the API: the grant counts it and the API logs it.
    const logged = deadline + 10 * 60_000;
    await extendMilestone(sponsor.client, grantId, 'report', new Date(logged).toISOString());
    const afterApi = await check(grantId);
    expect(afterApi.code, afterApi.stderr).toBe(0);
    const [first] = JSON.parse(afterApi.stdout) as ExtensionFinding[];
    expect(first).toMatchObject({
      milestoneId: 'report',
      deadline: new Date(logged).toISOString(),
      logged: true,
    });
    expect(first!.problem).toBeUndefined();

    // The sponsor's genuine signature on a later deadline, sent by the operator straight to Temporal:
    // the grant shows it, the log does not hold it.
    const unlogged = logged + 10 * 60_000;
    const signed = signedBy(test, sponsor.id, active.scope!, 'deadline_extension', {
      milestoneId: 'report',
      deadline: unlogged,
    });
    const shown = await handle.executeUpdate(extendDeadlineUpdate, { args: [{ signed }] });
    expect(shown.milestones[0]!.deadline).toBe(unlogged);
    const afterOperator = await check(grantId);
    expect(afterOperator.code).toBe(1);
    const findings = JSON.parse(afterOperator.stdout) as ExtensionFinding[];
    expect(findings).toHaveLength(2);
    expect(findings[0]).toMatchObject({ logged: true });
    expect(findings[1]).toMatchObject({ deadline: new Date(unlogged).toISOString(), logged: false });
    expect(findings[1]!.problem).toMatch(/not in the transparency log: settlement does not honour it/);
    const text = await tusk(['sponsor', 'grant', 'extensions', grantId, '--as', 'lab'], {
      TUSK_HOME: keyHome,
      TUSK_API_URL: test.deployment.apiUrl,
    });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`report: extended to ${new Date(unlogged).toISOString()}, NOT binding`);
  });
});
