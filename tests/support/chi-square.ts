/**
 * Pearson's χ² checks for integer samplers, binned at the quantiles of the law under test, so every
 * bin expects a fair share of the draws at any scale (a narrow law gets few bins, a wide one many).
 */

/** The discrete Laplace law with scale t/s: P(X ≤ x), from P(x) ∝ q^|x| with q = exp(−s/t). */
export function discreteLaplaceCdf(s: number, t: number): (x: number) => number {
  const q = Math.exp(-s / t);
  return (x) => (x < 0 ? q ** -x / (1 + q) : 1 - q ** (x + 1) / (1 + q));
}

/**
 * Upper bins: the least integers e₁ < e₂ < … at which the cdf reaches j/wanted (j < wanted), found
 * by doubling then bisection; the bins are (−∞, e₁], (e₁, e₂], …, (e_last, ∞).
 */
export function quantileEdges(cdf: (x: number) => number, wanted = 40): number[] {
  const leastReaching = (p: number) => {
    let low = -1;
    while (cdf(low) >= p) low *= 2;
    let high = 1;
    while (cdf(high) < p) high *= 2;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (cdf(middle) >= p) high = middle;
      else low = middle;
    }
    return high;
  };
  const edges = new Set<number>();
  for (let j = 1; j < wanted; j++) edges.add(leastReaching(j / wanted));
  return [...edges].sort((a, b) => a - b);
}

/** How many samples fall in each bin the edges make (edges.length + 1 bins). */
export function binCounts(samples: number[], edges: number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const x of samples) {
    let low = 0;
    let high = edges.length; // the first edge ≥ x, or edges.length
    while (low < high) {
      const middle = (low + high) >> 1;
      if (edges[middle]! >= x) high = middle;
      else low = middle + 1;
    }
    counts[low]!++;
  }
  return counts;
}

/** χ² of the samples against the law's cdf, over quantile bins; and its degrees of freedom. */
export function goodnessOfFit(samples: number[], cdf: (x: number) => number, wanted = 40) {
  const edges = quantileEdges(cdf, wanted);
  const counts = binCounts(samples, edges);
  let chi2 = 0;
  counts.forEach((count, bin) => {
    const upper = bin < edges.length ? cdf(edges[bin]!) : 1;
    const lower = bin > 0 ? cdf(edges[bin - 1]!) : 0;
    const expected = (upper - lower) * samples.length;
    chi2 += (count - expected) ** 2 / expected;
  });
  return { chi2, df: counts.length - 1 };
}

/** χ² of homogeneity for two equally many samples over the same bins; and its degrees of freedom. */
export function sameLaw(a: number[], b: number[], edges: number[]) {
  if (a.length !== b.length) throw new RangeError('the two samples must be equally many');
  const [countsA, countsB] = [binCounts(a, edges), binCounts(b, edges)];
  let chi2 = 0;
  let bins = 0;
  countsA.forEach((countA, bin) => {
    const both = countA + countsB[bin]!;
    if (both === 0) return;
    bins++;
    chi2 += (countA - countsB[bin]!) ** 2 / both;
  });
  return { chi2, df: bins - 1 };
}

/**
 * The χ² critical value at upper tail probability p for df degrees of freedom, by Wilson and
 * Hilferty's cube-root approximation (within about 1% from df = 3 up, 2% above at df = 2; the z are the normal's).
 */
export function chiSquareCritical(df: number, p: 0.001 | 1e-6): number {
  const z = p === 0.001 ? 3.0902 : 4.7534;
  const c = 2 / (9 * df);
  return df * (1 - c + z * Math.sqrt(c)) ** 3;
}
