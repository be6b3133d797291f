/** One check of an audit: passed, a finding (something is wrong), or skipped with why. */
export interface CheckResult {
  check: string;
  status: 'ok' | 'finding' | 'skipped';
  detail?: string;
}

export const ok = (check: string, detail?: string): CheckResult => ({
  check,
  status: 'ok',
  ...(detail ? { detail } : {}),
});
export const finding = (check: string, detail: string): CheckResult => ({ check, status: 'finding', detail });
export const skipped = (check: string, detail: string): CheckResult => ({ check, status: 'skipped', detail });

/** ok when there are no problems; one finding per problem otherwise. */
export const fromProblems = (check: string, problems: string[], detail?: string): CheckResult[] =>
  problems.length === 0 ? [ok(check, detail)] : problems.map((problem) => finding(check, problem));

export interface AuditReport {
  dealId: string;
  ok: boolean;
  checks: CheckResult[];
}

export function formatReport(report: AuditReport): string {
  const mark = { ok: 'ok     ', finding: 'FINDING', skipped: 'skipped' } as const;
  const lines = report.checks.map((c) => `${mark[c.status]} ${c.check}${c.detail ? `: ${c.detail}` : ''}`);
  const findings = report.checks.filter((c) => c.status === 'finding').length;
  // A deal is named by its id; a grant, period or disclosure by its key (`grant:<id>`, ...).
  const subject = report.dealId.includes(':') ? report.dealId : `deal ${report.dealId}`;
  lines.unshift(`audit of ${subject}`);
  lines.push(findings === 0 ? 'no findings' : `${findings} finding${findings === 1 ? '' : 's'}`);
  return lines.join('\n');
}
