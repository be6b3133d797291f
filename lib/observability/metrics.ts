import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * This process's Prometheus registry and Tusk's own metrics. Labels hold kinds, stages, activity
 * names, datasets and outcomes only: never a party, an amount or anything one buyer could be told
 * apart by.
 */
export class TuskMetrics {
  readonly registry = new Registry();

  /** Lifecycles the API started, by kind (cohort_query, multi_seller, subscription, grant...). */
  readonly lifecyclesStarted = new Counter({
    name: 'tusk_lifecycles_started_total',
    help: 'Lifecycles (deals, subscriptions, grants...) started through the API, by kind',
    labelNames: ['kind'],
    registers: [this.registry],
  });

  /** Each step of a lifecycle as its worker runs it: the workflow type is the kind, the step its stage. */
  readonly dealStages = new Counter({
    name: 'tusk_deal_stage_total',
    help: 'Lifecycle steps run, by kind (workflow type), stage (activity) and outcome',
    labelNames: ['kind', 'stage', 'outcome'],
    registers: [this.registry],
  });

  readonly activityLatency = new Histogram({
    name: 'tusk_activity_duration_seconds',
    help: 'Activity run time in this worker, by task queue, activity and outcome',
    labelNames: ['task_queue', 'activity', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  readonly settlementTx = new Histogram({
    name: 'tusk_settlement_transaction_seconds',
    help: 'Settlement actions (escrow lock, release, refund, receipt), from start to landed, by action and outcome',
    labelNames: ['action', 'outcome'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 600],
    registers: [this.registry],
  });

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * ε spent on each dataset by all buyers together within its budget window, read from the
   * perimeter's ledger when scraped: the same aggregate the perimeter already releases, never a
   * buyer's own figure.
   */
  trackEpsilonSpent(datasets: string[], spentOn: (dataset: string) => Promise<number>): void {
    new Gauge({
      name: 'tusk_dataset_epsilon_spent',
      help: 'Epsilon spent on a dataset by all buyers together in its current budget window',
      labelNames: ['dataset'],
      registers: [this.registry],
      async collect() {
        for (const dataset of datasets) {
          const spent = await spentOn(dataset).catch(() => undefined);
          if (spent !== undefined) this.set({ dataset }, spent);
        }
      },
    });
  }
}
