// AssemblyScript helpers of the GEMM kernels (kernels/wasm/assembly/gemm.ts) on the C side of a
// product: scaling by beta before the accumulation, and mirroring dsyrk's lower triangle after it.
// Not an entry of the build: gemm.ts imports them.

// C <- beta C on an m x n block; beta = 0 writes zeros so NaN/Inf garbage in C cannot leak.
export function scaleRect(m: i32, n: i32, beta: f64, pC: usize, ldc: i32): void {
  if (beta == 1) return;
  const ldcb = <usize>ldc << 3;
  const rowBytes = <usize>n << 3;
  for (let i = 0; i < m; i++) {
    const row = pC + <usize>i * ldcb;
    if (beta == 0) memory.fill(row, 0, rowBytes);
    else scaleRow(n, beta, row);
  }
}

export function scaleLower(n: i32, beta: f64, pC: usize, ldc: i32): void {
  if (beta == 1) return;
  const ldcb = <usize>ldc << 3;
  for (let i = 0; i < n; i++) {
    const row = pC + <usize>i * ldcb;
    if (beta == 0) memory.fill(row, 0, <usize>(i + 1) << 3);
    else scaleRow(i + 1, beta, row);
  }
}

function scaleRow(n: i32, beta: f64, row: usize): void {
  const vb = f64x2.splat(beta);
  let j = 0;
  for (; j + 2 <= n; j += 2) {
    const p = row + (<usize>j << 3);
    v128.store(p, f64x2.mul(vb, v128.load(p)));
  }
  if (j < n) {
    const p = row + (<usize>j << 3);
    store<f64>(p, beta * load<f64>(p));
  }
}

// Copies the strict lower triangle onto the upper one in 32 x 32 blocks, so the column-wise
// writes of a block stay in cache (a plain row-by-row mirror of n = 2000 misses on every write).
export function mirrorLower(n: i32, pC: usize, ldc: i32): void {
  const B: i32 = 32;
  const ldcb = <usize>ldc << 3;
  for (let ib = 0; ib < n; ib += B) {
    const ie = min(n, ib + B);
    for (let jb = 0; jb <= ib; jb += B) {
      for (let i = ib; i < ie; i++) {
        const je = min(i, jb + B);
        const row = pC + <usize>i * ldcb;
        for (let j = jb; j < je; j++) {
          store<f64>(pC + <usize>j * ldcb + (<usize>i << 3), load<f64>(row + (<usize>j << 3)));
        }
      }
    }
  }
}
