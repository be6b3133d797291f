import type { DuckDBConnection } from '@duckdb/node-api';
import type { RegisteredKeys } from '../../lib/key-log';
import { cohortAggregateSql, sumColumn, UNITS_COLUMN } from '../../query-policies/cohort-sql';
import type { DeclaredColumns } from '../../query-policies/column-domains';
import { budgetScopeOf, type DatasetPolicy } from '../../query-policies/dataset-policy';
import { readTrustedDatasetPolicy } from '../../query-policies/dataset-policy-file';
import { draftSignatureProblem, signPreview, signSealedIssues } from '../../query-policies/draft-signature';
import { reviewNote, sealReviewNote } from '../../query-policies/sealed-review-note';
import type { PerimeterKey } from '../../lib/perimeter-key';
import type { BlobStore } from '../../lib/blob-store';
import { x25519PublicKey, type X25519KeyPair } from '../../lib/sealed-box';
import { openSealedDraft, SealedDraftError } from '../../query-policies/sealed-draft';
import type { DraftToSign } from '../../query-policies/draft-signature';
import { noisePlan } from '../../query-policies/noise-plan';
import { maxReleasedGroups } from '../../query-policies/result-size';
import { lintFix } from '../../query-policies/lint-fixes';
import { lintTemplate } from '../../query-policies/sql-lint';
import { queryTemplate, type ParameterValues, type QueryTemplate } from '../../query-policies/template';
import {
  signedDraft,
  type DraftIssue,
  type DraftPreview,
  type SignedDraft,
} from '../../workflows/template-review/shapes';
import { boundParameters } from './bound-parameters';
import { runWithTimeout } from './query-runner';
import { refuse } from './refusal';
import { buildSyntheticTwin } from './synthetic-twin';

export interface DraftPreviewDeps {
  sellerId: string;
  sellerPublicKey: string;
  policiesDir: string;
  datasets: Record<string, string>;
  keys: RegisteredKeys;
  queryTimeoutMs: number;
  /** The perimeter's own key: it signs each preview, as it signs what it releases. */
  releaseKey: PerimeterKey;
  /** Where sealed drafts are, and the perimeter's key that opens them. */
  blobs: BlobStore;
  sealingKey?: X25519KeyPair;
}

const PROPOSER_ROLES = ['buyer', 'sponsor'];

/** Parameter values for the preview: each range at its widest (lower ends low, upper ends high). */
function previewParameters(template: QueryTemplate): ParameterValues {
  const upper = new Set(
    (template.constraints ?? []).map((c) => ('lessOrEqual' in c ? c.lessOrEqual[1] : c.lessThan[1])),
  );
  const values: ParameterValues = {};
  for (const [name, spec] of Object.entries(template.parameters))
    values[name] = spec.type === 'enum' ? spec.values[0]! : upper.has(name) ? spec.max : spec.min;
  return values;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Previews a proposed template on the dataset's synthetic twin. Runs only a draft its proposer signed
 * under the key the transparency log registers for it; reads the seller's signed dataset policy for
 * the declared column domains and the budgets; never opens the dataset itself.
 */
export function createDraftPreviewActivities(deps: DraftPreviewDeps) {
  /** The sealed draft at the reference, opened here and nowhere before the seller's. */
  async function openedDraft(signed: SignedDraft): Promise<DraftToSign> {
    if (!deps.sealingKey)
      refuse('DatasetPolicyMissing', 'this perimeter has no sealing key: no draft opens here');
    const bytes = await deps.blobs.get(signed.draftRef).catch(() => undefined);
    if (!bytes) refuse('TermsMismatch', `no sealed draft ${signed.draftRef} in the blob store`);
    try {
      return await openSealedDraft(bytes, 'perimeter', deps.sealingKey.privateKeyPem, signed.reviewId);
    } catch (error) {
      if (error instanceof SealedDraftError) refuse('TermsMismatch', error.message);
      throw error;
    }
  }

  /** The opened draft is the one the proposer signed, under the key the log registers for it. */
  async function proposerCheck(opened: DraftToSign, signed: SignedDraft): Promise<void> {
    const key = await deps.keys.currentKey(signed.proposer);
    if (!key || !PROPOSER_ROLES.includes(key.role))
      refuse('SignerNotRegistered', `${signed.proposer} is not a registered buyer or sponsor`);
    const problem = draftSignatureProblem(opened, signed, key.publicKey);
    if (problem) refuse('TermsSignatureInvalid', problem);
  }

  /** Whether the proposer's reply key is one a box can be sealed to (else only the seller reads the problems). */
  function usableReplyKey(replyKey: string | undefined): string | undefined {
    if (replyKey === undefined) return undefined;
    try {
      x25519PublicKey(replyKey);
      return replyKey;
    } catch {
      return undefined;
    }
  }

  /**
   * Lint problems quote the draft's identifiers: they leave sealed to the seller (this perimeter's
   * sealing key, which the seller's CLI holds) and to the proposer's signed reply key, signed here.
   */
  async function sealedIssues(signed: SignedDraft, opened: DraftToSign, issues: DraftIssue[]) {
    const note = reviewNote(signed.reviewId, signed.revision, { kind: 'lint', issues });
    const proposer = usableReplyKey(opened.replyKey);
    const { bytes, hash } = await sealReviewNote(note, {
      perimeter: deps.sealingKey!.publicKey,
      ...(proposer ? { proposer } : {}),
    });
    const ref = await deps.blobs.put(bytes);
    const toSign = { reviewId: signed.reviewId, revision: signed.revision, ref, hash, count: issues.length };
    const perimeterSignature = signSealedIssues(toSign, deps.releaseKey.privateKeyPem);
    return { ref, hash, count: issues.length, perimeterSignature };
  }

  async function previewDraft(input: SignedDraft): Promise<DraftPreview> {
    const parsed = signedDraft.safeParse(input);
    if (!parsed.success) refuse('TermsSignatureInvalid', 'the draft is not a signed revision');
    const draft = parsed.data;
    const opened = await openedDraft(draft);
    await proposerCheck(opened, draft);
    const refused = async (reason: string, issues: DraftIssue[] = []): Promise<DraftPreview> => ({
      kind: 'refused',
      revision: draft.revision,
      reason,
      issues: [],
      ...(issues.length > 0 ? { sealedIssues: await sealedIssues(draft, opened, issues) } : {}),
    });
    const template = queryTemplate.safeParse(opened.draft);
    if (!template.success)
      return refused(
        'the draft is not a valid template',
        template.error.issues.map((i) => ({
          code: 'invalid_template',
          message: `${i.path.join('.')}: ${i.message}`,
          fix: 'correct the field as the message says',
        })),
      );
    if (template.data.seller !== deps.sellerId)
      refuse('TermsMismatch', `the draft is for seller ${template.data.seller}, not ${deps.sellerId}`);
    const dataset = template.data.dataset;
    if (!deps.datasets[dataset]) return refused(`seller ${deps.sellerId} serves no dataset ${dataset}`);
    const policy = await readTrustedDatasetPolicy(
      deps.policiesDir,
      deps.sellerId,
      deps.sellerPublicKey,
    ).catch(() => undefined);
    const columns = policy?.datasets[dataset]?.columns;
    if (!policy || !columns)
      return refused(`seller ${deps.sellerId} declared no column domains for ${dataset}: no preview can run`);
    return onTwin(draft, template.data, policy, columns, refused);
  }

  async function onTwin(
    draft: SignedDraft,
    template: QueryTemplate,
    policy: DatasetPolicy,
    columns: DeclaredColumns,
    refused: (reason: string, issues: DraftIssue[]) => Promise<DraftPreview>,
  ): Promise<DraftPreview> {
    const twin = await buildSyntheticTwin(template.dataset, columns);
    const connection = await twin.instance.connect();
    try {
      const { issues, totalSql } = await lintTemplate(connection, template, new Set(Object.keys(columns)));
      if (issues.length > 0 || totalSql === undefined)
        return refused(
          'the draft fails lint',
          issues.map((issue) => ({ ...issue, fix: lintFix(issue, Object.keys(columns)) })),
        );
      const rows = await answerOnTwin(connection, { ...template, sql: totalSql });
      const plan = noisePlan(template);
      const budget = budgetScopeOf(policy, template.dataset)?.budget;
      const answers = (epsilon: number | undefined) =>
        epsilon === undefined ? null : Math.floor(epsilon / plan.epsilon);
      return signPreview(
        {
          kind: 'previewed',
          revision: draft.revision,
          draftHash: draft.draftHash,
          twin: {
            rows: twin.rows,
            units: await distinctUnits(connection, template),
            domainsHash: twin.domainsHash,
          },
          groups: rows.length,
          maxGroups: maxReleasedGroups(template),
          countNoiseScale: plan.countScale,
          typicalCount: median(rows.map((row) => Number(row[UNITS_COLUMN]))),
          metrics: template.metrics.map((metric) => ({
            aggregate: metric.aggregate,
            noiseScale:
              metric.aggregate === 'count_units' ? plan.countScale : (plan.sumScales[metric.name] ?? null),
            typicalSum:
              metric.aggregate !== 'count_units'
                ? median(rows.map((row) => Number(row[sumColumn(metric.name)])))
                : median(rows.map((row) => Number(row[UNITS_COLUMN]))),
          })),
          epsilon: plan.epsilon,
          delta: plan.delta,
          answersPerBuyer: answers(budget?.perBuyer.epsilon),
          answersTotal: answers(budget?.total.epsilon),
        },
        deps.releaseKey.privateKeyPem,
      );
    } finally {
      connection.closeSync();
      twin.instance.closeSync();
    }
  }

  function answerOnTwin(connection: DuckDBConnection, template: QueryTemplate) {
    const parameters = previewParameters(template);
    return runWithTimeout(connection, cohortAggregateSql(template), boundParameters(template, parameters), {
      timeoutMs: deps.queryTimeoutMs,
    });
  }

  async function distinctUnits(connection: DuckDBConnection, template: QueryTemplate): Promise<number> {
    const reader = await connection.runAndReadAll(
      `SELECT count(DISTINCT "${template.privacyUnit}") FROM "${template.dataset}"`,
    );
    return Number(reader.getRows()[0]?.[0] ?? 0);
  }

  return { previewDraft };
}
