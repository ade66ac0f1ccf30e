// Values far outside the bulk of the data: a robust centre and scale (median and median absolute
// deviation) from a seeded sample of the entries, and the limits beyond which a value is an outlier.
// A few values of 1e6 among ratings of 1 to 5 would otherwise set the scale and the mean and leave
// every prediction one constant.

/** Entries sampled at most (about): enough for the median and MAD to two or three digits. */
export const OUTLIER_SAMPLE = 1 << 20;

/** 1 / Phi^-1(3/4): MAD times this estimates a normal standard deviation. */
const MAD_TO_SD = 1.482602218505602;
/** sqrt(pi / 2): the mean absolute deviation times this estimates a normal standard deviation. */
const MEAN_AD_TO_SD = 1.2533141373155001;

export interface OutlierLimits {
  median: number;
  /** The robust standard deviation (0: the sampled values are all equal). */
  scale: number;
  /** Values outside [lo, hi] are outliers. */
  lo: number;
  hi: number;
  /** Values the limits were estimated from. */
  sampled: number;
}

/**
 * Whether entry (i, j) is in the sample, at a rate of about `rate`: a hash of the pair, so every load
 * (in memory, or a spilled one that sees the entries a bucket at a time in another order) samples
 * the same entries.
 */
export function inSample(i: number, j: number, rate: number): boolean {
  if (rate >= 1) return true;
  let h = Math.imul(i ^ 0x2545f491, 0x9e3779b1) ^ j;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) < rate * 4294967296;
}

/** The sampling rate for nnz entries. */
export function sampleRate(nnz: number): number {
  return Math.min(1, OUTLIER_SAMPLE / Math.max(1, nnz));
}

/**
 * The limits median +- limit x robust scale of the sampled values (reordered in place). The robust
 * scale is 1.4826 MAD; when more than half the values are equal (MAD = 0, e.g. mostly 5-star
 * ratings) it is 1.2533 x the mean absolute deviation from the median; when all sampled values are
 * equal it is 0 and nothing is an outlier (the sample says nothing about the spread).
 */
export function outlierLimits(sample: Float64Array, limit: number): OutlierLimits {
  const n = sample.length;
  if (n === 0) return { median: 0, scale: 0, lo: -Infinity, hi: Infinity, sampled: 0 };
  sample.sort();
  const median = medianOfSorted(sample);
  const dev = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    dev[k] = Math.abs(sample[k]! - median);
    sum += dev[k]!;
  }
  dev.sort();
  const mad = medianOfSorted(dev);
  const scale = mad > 0 ? MAD_TO_SD * mad : MEAN_AD_TO_SD * (sum / n);
  if (scale === 0) return { median, scale, lo: -Infinity, hi: Infinity, sampled: n };
  return { median, scale, lo: median - limit * scale, hi: median + limit * scale, sampled: n };
}

function medianOfSorted(x: Float64Array): number {
  const n = x.length;
  return n % 2 === 1 ? x[(n - 1) / 2]! : 0.5 * (x[n / 2 - 1]! + x[n / 2]!);
}
