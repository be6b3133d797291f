import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { inject } from 'vitest';
import type { BudgetView } from '../../api/budgets/schemas';
import { waitForStage } from '../../cli/buyer/commands';
import type { TuskClient } from '../../lib/tusk-client';
import { BlobStore } from '../../lib/blob-store';
import { budgetKeyOf, x25519KeyDocument } from '../../lib/signed-terms';
import { generateEd25519KeyPair, type Ed25519KeyPair } from '../../lib/ed25519';
import type { AesGcmPayloadCodec } from '../../lib/codec/aes-gcm-codec';
import { loadHistoryCodec } from '../../lib/codec/history-codec';
import { connectClient, DEALS_TASK_QUEUE } from '../../lib/temporal';
import { signDatasetPolicy, type DatasetPolicy } from '../../query-policies/dataset-policy';
import { datasetPolicyPath } from '../../query-policies/dataset-policy-file';
import { signTemplate } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { readTemplateFile, signaturePath, templatePath } from '../../query-policies/template-files';
import {
  deployLocal,
  type BuyerIdentity,
  type LocalDeployment,
  type LocalDeploymentOptions,
} from '../../scripts/lib/local-deployment';
import { cohortQueryDeal } from '../../workflows/deal/workflow';
import type { CohortQueryDealInput, DealStatus } from '../../workflows/deal/state';

export const DEMO_TEMPLATE = join(__dirname, '../../query-policies/demo-seller/cohort-cost-by-zip3.json');

/** What the demo template allows: a buyer researching in the US who accepts health data. */
export const RESEARCH_IN_US = {
  jurisdiction: 'US',
  purpose: 'research',
  acceptedDataClasses: ['health', 'deidentified'],
};

export const DEFAULT_DATASET_BUDGETS: DatasetPolicy['datasets'] = {
  patients: {
    windowDays: 30,
    total: { epsilon: 200, delta: 1e-5 },
    perBuyer: { epsilon: 20, delta: 1e-6 },
  },
};

/** A seller of the test's own, with its key and its policies directory. */
export class TestSeller {
  readonly keys: Ed25519KeyPair = generateEd25519KeyPair();
  constructor(
    readonly id: string,
    readonly policiesRoot: string,
  ) {}

  get directory(): string {
    return join(this.policiesRoot, this.id);
  }

  /** Writes a template and the seller's signature of it; returns the template as signed. */
  async publish(template: QueryTemplate, signingKeyPem = this.keys.privateKeyPem): Promise<QueryTemplate> {
    await mkdir(this.directory, { recursive: true });
    await writeFile(templatePath(this.directory, template.id), JSON.stringify(template, null, 2));
    await writeFile(
      signaturePath(this.directory, template.id),
      JSON.stringify(signTemplate(template, signingKeyPem)),
    );
    return template;
  }

  /**
   * The seller's signed dataset policy (its budgets). By default the demo seller's budgets for
   * `patients`: per 30 days, ε = 200 for all buyers together and ε = 20 per buyer.
   */
  async publishDatasetPolicy(
    datasets: DatasetPolicy['datasets'] = DEFAULT_DATASET_BUDGETS,
    signingKeyPem = this.keys.privateKeyPem,
  ): Promise<DatasetPolicy> {
    const policy: DatasetPolicy = { seller: this.id, version: 1, datasets };
    await mkdir(this.directory, { recursive: true });
    await writeFile(
      datasetPolicyPath(this.directory),
      JSON.stringify({ policy, signature: signDatasetPolicy(policy, signingKeyPem) }, null, 2),
    );
    return policy;
  }

  get hasDatasetPolicy(): boolean {
    return existsSync(datasetPolicyPath(this.directory));
  }

  /** The demo template, re-owned and signed by this seller. */
  async publishDemoTemplate(changes: Partial<QueryTemplate> = {}): Promise<QueryTemplate> {
    const demo = await readTemplateFile(DEMO_TEMPLATE);
    // Other dimensions than the demo's would not match its declared HE group domain.
    // Without a declared domain, groups are chosen by private partition selection, which needs its δ.
    const plainOnly =
      changes.dimensions && !changes.groupDomain
        ? {
            multiSeller: false,
            privateSelection: false,
            groupDomain: undefined,
            privacy: { ...demo.privacy, selectionDelta: 1e-6 },
          }
        : {};
    return this.publish({ ...demo, seller: this.id, ...plainOnly, ...changes });
  }
}

export interface TestDeployment {
  home: string;
  seller: TestSeller;
  deployment: LocalDeployment;
  /** Decodes through the codec with the deployment's keys. */
  temporal: Client;
  /** The deployment's history codec: what replay and any reading of a history go through. */
  codec: AesGcmPayloadCodec;
  close(): Promise<void>;
}

/** A whole local deployment (six real processes) on the suite's Temporal and Redis, in a temp home. */
export async function startTestDeployment(
  name: string,
  prepare: (seller: TestSeller) => Promise<void>,
  options: Partial<LocalDeploymentOptions> | ((seller: TestSeller) => Partial<LocalDeploymentOptions>) = {},
): Promise<TestDeployment> {
  const home = await mkdtemp(join(tmpdir(), `tusk-it-${name}-`));
  const seller = new TestSeller(`seller-${name}`, join(home, 'query-policies'));
  await prepare(seller);
  if (!seller.hasDatasetPolicy) await seller.publishDatasetPolicy();
  const temporalAddress = inject('temporalAddress');
  const deployment = await deployLocal({
    home,
    temporalAddress,
    redisUrl: inject('redisUrl'),
    rows: 100_000,
    sellerId: seller.id,
    sellerPublicKey: seller.keys.publicKey,
    policiesRoot: seller.policiesRoot,
    ...(typeof options === 'function' ? options(seller) : options),
  });
  const codec = await loadHistoryCodec({ keyFile: deployment.codecKeyFile, generateIfMissing: false });
  const temporal = await connectClient(temporalAddress, 'default', codec);
  return {
    home,
    seller,
    deployment,
    temporal,
    codec,
    async close() {
      await deployment.stop();
      await temporal.connection.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

export const isFinished = (status: DealStatus) =>
  status.stage === 'delivered' || status.stage === 'settled' || status.problem !== undefined;

export async function buyDeal(
  deployment: LocalDeployment,
  templateId: string,
  parameters: Record<string, string | number>,
  dealId = `deal-${crypto.randomUUID()}`,
  buyer: BuyerIdentity = deployment.buyer,
  /** Whose copy, where several sellers offer the template id. */
  sellerId?: string,
) {
  const { client } = buyer;
  const { templates } = await client.get<{
    templates: { id: string; seller: string; hash: string; price: string }[];
  }>('/templates');
  const template = templates.find((t) => t.id === templateId && (sellerId ?? t.seller) === t.seller);
  if (!template) throw new Error(`template ${templateId} is not in the catalog`);
  const signed = client.signed('cohort_query', {
    dealId,
    templateId,
    // The signed terms name the payee.
    sellerId: template.seller,
    templateHash: template.hash,
    parameters,
    price: template.price,
    buyerPublicKey: buyer.resultPublicKey,
    compliance: RESEARCH_IN_US,
  });
  const created = await client.request<DealStatus>('POST', '/deals', signed);
  return {
    dealId,
    created,
    /** The request as the buyer signed it: what its `pay` command keeps and pays by. */
    signed,
    delivered: () => waitForStage(client, dealId, isFinished, 120_000),
  };
}

/**
 * Starts a deal workflow directly, as an operator with access to Temporal could, bypassing every
 * API check: only the perimeter stands between such a deal and the data.
 */
export async function startDealBehindTheApi(
  test: TestDeployment,
  input: Partial<CohortQueryDealInput> & Pick<CohortQueryDealInput, 'templateId' | 'templateHash'>,
): Promise<DealStatus> {
  return (await startDealWorkflow(test, input)).result();
}

/** The same, returning the workflow's handle as soon as it started. */
export async function startDealWorkflow(
  test: TestDeployment,
  input: Partial<CohortQueryDealInput> & Pick<CohortQueryDealInput, 'templateId' | 'templateHash'>,
) {
  const { buyer } = test.deployment;
  const blobs = new BlobStore(join(test.home, 'blobs'));
  const buyerKeyRef = await blobs.put(x25519KeyDocument(buyer.resultPublicKey));
  const dealId = input.dealId ?? `direct-${crypto.randomUUID()}`;
  const deal: Omit<CohortQueryDealInput, 'terms'> = {
    dealId,
    buyerId: 'demo-buyer',
    sellerId: test.seller.id,
    parameters: { min_age: 30, max_age: 50, sex: 'F' },
    price: '1000',
    feeBps: 250,
    buyerKeyRef,
    compliance: RESEARCH_IN_US,
    acceptanceTimeoutMs: 60_000,
    ...input,
  };
  return test.temporal.workflow.start(cohortQueryDeal, {
    taskQueue: DEALS_TASK_QUEUE,
    workflowId: dealId,
    // Unless the test forges them, the terms are what the buyer would sign for exactly this deal.
    args: [
      { ...deal, terms: input.terms ?? buyer.client.signTerms('cohort_query', dealTermsBody(deal, buyer)) },
    ],
  });
}

/** A dataset's budget figures as the party sees them through the API (GET /budgets/:sellerId/:dataset). */
export function budgetOf(client: TuskClient, sellerId: string, dataset = 'patients'): Promise<BudgetView> {
  return client.get<BudgetView>(`/budgets/${sellerId}/${dataset}`);
}

/** The body a buyer signs for a deal (POST /deals without its signature). */
export function dealTermsBody(
  deal: Omit<CohortQueryDealInput, 'terms'>,
  buyer: Pick<LocalDeployment['buyer'], 'resultPublicKey'>,
) {
  return {
    dealId: deal.dealId,
    templateId: deal.templateId,
    sellerId: deal.sellerId,
    templateHash: deal.templateHash,
    parameters: deal.parameters,
    price: deal.price,
    feeBps: deal.feeBps,
    buyerPublicKey: buyer.resultPublicKey,
    compliance: deal.compliance,
    ...(deal.privateSelection ? { privateSelection: deal.privateSelection } : {}),
    // The buyer signs the window the deal runs with (unless a test forges a shorter one on Temporal).
    acceptanceWindowSeconds: Math.max(1, Math.ceil(deal.acceptanceTimeoutMs / 1000)),
  };
}

/** What the seller's perimeter charges the demo buyer's privacy budget to: its verified signing key. */
export const buyerBudgetKey = (test: TestDeployment) => budgetKeyOf(test.deployment.buyer.client.publicKey);

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}
