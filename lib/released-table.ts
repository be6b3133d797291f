/** The noise mechanisms a template may name (query-policies/template.ts); a plan naming another does not type-check where the perimeter fills this in. */
export type NoiseMechanism = 'discrete_laplace' | 'discrete_gaussian';

/** How a template releases its groups: every group of its declared domain, or those a noisy count selects. */
export type GroupRelease =
  | { kind: 'declared_domain' }
  | {
      kind: 'partition_selection';
      /** A group is released only if its noisy count reaches this (and k). */
      threshold: number;
      delta: number;
    };

export type Cell = string | number | null;

/**
 * What a buyer learns about how the answer was protected: the mechanism's parameters only. Nothing
 * here depends on the data (no count of groups withheld or present), so it can be shown to anyone.
 */
export interface ReleaseMetadata {
  mechanism: NoiseMechanism;
  /** The answer's (ε, δ) as the template states it; 0 when a repeat was served at no cost. */
  epsilonSpent: number;
  delta: number;
  /** Noise scale per noised quantity (b for Laplace, σ for Gaussian); an avg is a noisy sum over a noisy count. */
  noiseScales: Record<string, number>;
  /** A group whose noisy count is under k has its numbers withheld (null). */
  minCohortSize: number;
  groupRelease: GroupRelease;
}

export interface ReleasedTable {
  columns: string[];
  rows: Cell[][];
  privacy: ReleaseMetadata;
}
