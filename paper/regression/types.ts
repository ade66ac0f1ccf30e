// Shared shapes of the sparse-regression solvers: a dense design, and what every solver returns.

/** y = X beta (+ noise) with X dense row-major n x d; rows are samples. */
export interface RegressionProblem {
  n: number;
  d: number;
  /** Row-major n x d (X[i * d + j]). */
  X: Float64Array;
  y: Float64Array;
}

export interface SolveResult {
  beta: Float64Array;
  iterations: number;
  /** The solver's own stopping rule fired (as opposed to the iteration cap). */
  converged: boolean;
  /**
   * 0: every linear solve used the requested ridge; > 0: this many solves needed a larger ridge
   * to factor (see WeightedSolver), the LAPACK-style status the caller may treat as a warning.
   */
  status: number;
}

/** ||beta - truth|| / ||truth|| (||beta|| when truth is zero). */
export function relativeError(beta: Float64Array, truth: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let j = 0; j < truth.length; j++) {
    const e = beta[j]! - truth[j]!;
    num += e * e;
    den += truth[j]! * truth[j]!;
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

export function checkProblem(p: RegressionProblem): void {
  const { n, d, X, y } = p;
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(d) && d >= 1)) {
    throw new RangeError(`regression problem: n and d must be integers >= 1, got n = ${n}, d = ${d}`);
  }
  if (X.length < n * d) throw new RangeError(`regression problem: X has ${X.length} elements, n * d = ${n * d} needed`);
  if (y.length < n) throw new RangeError(`regression problem: y has ${y.length} elements, n = ${n} needed`);
}
