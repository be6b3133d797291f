import type { NoisePlan } from '../query-policies/noise-plan';

export type Cell = string | number | null;

/** What a buyer learns about how the answer was protected. */
export interface ReleaseMetadata {
  mechanism: NoisePlan['mechanism'];
  epsilonSpent: number;
  /** Noise scale per noised quantity (b for Laplace, σ for Gaussian); an avg is a noisy sum over a noisy count. */
  noiseScales: Record<string, number>;
  minCohortSize: number;
  groupsReleased: number;
  groupsSuppressed: number;
  /** Whether suppressed groups were folded into a remainder row that was itself released. */
  remainderReleased: boolean;
}

export interface ReleasedTable {
  columns: string[];
  rows: Cell[][];
  privacy: ReleaseMetadata;
}
