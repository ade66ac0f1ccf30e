// AssemblyScript source of the WASM SIMD (f64x2) dgemm/dsyrk kernels; built by scripts/build-wasm.mjs.
//
// Layout and conventions match kernels/blas.ts: row-major matrices, element (i, j) of a matrix at
// byte address p + 8 * (i * ld + j). Pointers are byte addresses in this module's memory; leading
// dimensions and sizes are element counts. The caller (kernels/wasm.ts) owns all memory: it passes
// a workspace of workBytes() bytes for the packed panels.
//
// Structure (the BLIS/GotoBLAS scheme): for each NC-wide column panel of op(B) and KC-deep slice,
// that KC x NC panel is packed into NR-wide micro-panels; for each MC-row block of op(A), the
// MC x KC block is packed into MR-row micro-panels; an MR x NR register tile of C is then
// accumulated over the KC depth from the two contiguous micro-panels. The packed B micro-panel
// (KC x NR, 8 KB) stays in L1 while the MR-row A micro-panels stream from L2; packing turns every
// transpose case into the same contiguous access, and zero padding of ragged micro-panels lets
// the edge tiles use the same micro-kernel (into a scratch tile, of which only the valid part is
// added to C). packB/dgemmPacked split the B packing off, so that the row blocks of one product
// (the engine's gemm blocks) pack B once instead of once per block.
//
// Built twice (scripts/build-wasm.mjs): with relaxed SIMD the depth loop fuses each multiply-add
// (f64x2.relaxed_madd, one vfmadd on x64 with FMA3); without it, a multiply then an add. Only
// that loop differs: every C element is still the same sequence of operations whatever the tile,
// block or row partition, so both builds give the same bits for any split of a product; the plain
// build also gives the bits of kernels/blas.ts (see KC).

import { mirrorLower, scaleLower, scaleRect } from './cside';

// Micro-tile: 4 rows x 4 columns of C = 8 f64x2 accumulators; V8 hoists the two B vectors and the
// four A broadcasts, so 14 of the 15 xmm registers it allocates from. Measured on Node 20 (EPYC,
// 1000^3): a 6x4 tile (12 accumulators) spills and is ~20% slower without FMA, ~45% with it;
// the depth loop unrolled twice was also slower. MR and NR must stay even (pairs of lanes).
const MR: i32 = 4;
const NR: i32 = 4;
// KC: the depth of one pass, so one A micro-panel (KC x MR) plus one B micro-panel (KC x NR) is
// 16 KB, half of L1. MC x KC packed A block (256 KB) is sized for L2; KC x NC packed B for L3.
// MC and NC must be multiples of MR and NR. KC = 256 is also kernels/blas.ts's depth block, and
// both sum each depth block from zero in the same order, so the plain build gives the bits of the
// TypeScript kernels (up to the sign of zero) - and the engine's 256-row dsyrk chunk is one pass.
// With FMA, KC 128..512 and MC 64..256 measured within the noise of a shared machine.
const KC: i32 = 256;
const MC: i32 = 128;
const NC: i32 = 2048;

const PACK_A_BYTES: usize = <usize>(MC * KC) << 3;
const PACK_B_BYTES: usize = <usize>(KC * NC) << 3;
const TILE_BYTES: usize = <usize>(MR * NR) << 3;

/** Bytes of workspace the caller must pass as `work` (16-byte aligned). */
export function workBytes(): usize {
  return PACK_A_BYTES + PACK_B_BYTES + TILE_BYTES;
}

/** The depth of one packed slice of op(B) (KC): packB packs at most this many rows of op(B) per slice. */
export function depthBlock(): i32 {
  return KC;
}

/** Bytes that packB writes for a k x n op(B). */
export function packedBBytes(k: i32, n: i32): usize {
  return <usize>k * <usize>roundNR(n) << 3;
}

/** First byte after this module's static data: the caller's allocations start at or after it. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * C (m x n) = alpha op(A) op(B) + beta C; op(A) = A^T (A stored k x m) when transA, op(B) = B^T
 * (B stored n x k) when transB. beta = 0 overwrites C; alpha = 0 or k = 0 leaves A and B unread.
 */
export function dgemm(
  transA: i32, transB: i32,
  m: i32, n: i32, k: i32,
  alpha: f64,
  pA: usize, lda: i32,
  pB: usize, ldb: i32,
  beta: f64,
  pC: usize, ldc: i32,
  work: usize,
): void {
  if (m <= 0 || n <= 0) return;
  scaleRect(m, n, beta, pC, ldc);
  if (k <= 0 || alpha == 0) return;
  const ai = transA ? 1 : lda;
  const ap = transA ? lda : 1;
  const bp = transB ? 1 : ldb;
  const bj = transB ? ldb : 1;
  product(m, n, k, alpha, pA, ai, ap, pB, bp, bj, 0, pC, ldc, false, work);
}

/**
 * Packs op(B) (k x n; B^T when transB, B stored n x k) into packedBBytes(k, n) bytes at dst, for
 * dgemmPacked: the KC-deep slice starting at depth pc at dst + 8 pc roundNR(n), within it the
 * panel of columns from jc at + 8 jc kc. So a caller can also pack one slice at a time (k <= KC),
 * each at its own offset.
 */
export function packB(transB: i32, k: i32, n: i32, pB: usize, ldb: i32, dst: usize): void {
  const bp = transB ? 1 : ldb;
  const bj = transB ? ldb : 1;
  const np = roundNR(n);
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc);
    for (let jc = 0; jc < n; jc += NC) {
      packPanelB(kc, min(NC, n - jc), pB + (<usize>(pc * bp + jc * bj) << 3), bp, bj, dst + (<usize>(pc * np + jc * kc) << 3));
    }
  }
}

/** dgemm with op(B) (k x n) packed by packB at `packed` (non-zero): the same bits as dgemm. */
export function dgemmPacked(
  transA: i32,
  m: i32, n: i32, k: i32,
  alpha: f64,
  pA: usize, lda: i32,
  packed: usize,
  beta: f64,
  pC: usize, ldc: i32,
  work: usize,
): void {
  if (m <= 0 || n <= 0) return;
  scaleRect(m, n, beta, pC, ldc);
  if (k <= 0 || alpha == 0) return;
  product(m, n, k, alpha, pA, transA ? 1 : lda, transA ? lda : 1, 0, 0, 0, packed, pC, ldc, false, work);
}

// @ts-ignore: decorator
@inline
function roundNR(n: i32): i32 {
  return (n + NR - 1) / NR * NR;
}

/**
 * trans = 0: C (n x n) = alpha A A^T + beta C with A n x k; trans = 1: C = alpha A^T A + beta C
 * with A k x n. Only the lower triangle is computed (the upper one of C on entry is never read),
 * then mirrored, so C comes out exactly symmetric.
 */
export function dsyrk(
  trans: i32,
  n: i32, k: i32,
  alpha: f64,
  pA: usize, lda: i32,
  beta: f64,
  pC: usize, ldc: i32,
  work: usize,
): void {
  if (n <= 0) return;
  scaleLower(n, beta, pC, ldc);
  if (k > 0 && alpha != 0) {
    // X(i, p) is row i of the operand whose Gram matrix is taken: C(i, j) = sum_p X(i, p) X(j, p).
    const xi = trans ? 1 : lda;
    const xp = trans ? lda : 1;
    product(n, n, k, alpha, pA, xi, xp, pA, xp, xi, 0, pC, ldc, true, work);
  }
  mirrorLower(n, pC, ldc);
}

// C(i, j) += alpha sum_p A(i*ai + p*ap) B(p*bp + j*bj), or with op(B) packed by packB at `packed`
// when that is non-zero. With `lower` (C square), only C(i, j) with j <= i is written, and
// micro-tiles entirely above the diagonal are skipped.
function product(
  m: i32, n: i32, k: i32, alpha: f64,
  pA: usize, ai: i32, ap: i32,
  pB: usize, bp: i32, bj: i32, packed: usize,
  pC: usize, ldc: i32,
  lower: bool, work: usize,
): void {
  const packA = work;
  const packB = work + PACK_A_BYTES;
  const tile = packB + PACK_B_BYTES;
  const np = roundNR(n);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      let pb = packB;
      if (packed != 0) pb = packed + (<usize>(pc * np + jc * kc) << 3);
      else packPanelB(kc, nc, pB + (<usize>(pc * bp + jc * bj) << 3), bp, bj, packB);
      // In the lower case rows above jc have no element on or below the diagonal in this panel.
      for (let ic = lower ? jc : 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packPanelA(mc, kc, pA + (<usize>(ic * ai + pc * ap) << 3), ai, ap, packA);
        macro(
          mc, nc, kc, alpha, packA, pb,
          pC + (<usize>(ic * ldc + jc) << 3), ldc,
          lower, ic - jc, tile,
        );
      }
    }
  }
}

// One packed MC x KC block of A against one packed KC x NC panel of B. `diag` = ic - jc is the
// block's row offset relative to its column offset: C(r, s) of the block is on or below the
// diagonal when s <= r + diag.
function macro(
  mc: i32, nc: i32, kc: i32, alpha: f64,
  packA: usize, packB: usize,
  pC: usize, ldc: i32,
  lower: bool, diag: i32, tile: usize,
): void {
  const ldcb = <usize>ldc << 3;
  const aStep = <usize>(kc * MR) << 3;
  const bStep = <usize>(kc * NR) << 3;
  let pb = packB;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    let pa = packA;
    for (let ir = 0; ir < mc; ir += MR) {
      const mr = min(MR, mc - ir);
      // Tile rows ir + diag .. ir + diag + mr - 1 (global, relative to jc), columns jr .. jr + nr - 1.
      const gi = ir + diag;
      if (!lower || jr <= gi + mr - 1) {
        const crosses = lower && jr + nr - 1 > gi;
        const pc = pC + (<usize>(ir * ldc + jr) << 3);
        if (mr == MR && nr == NR && !crosses) {
          kernel4x4(kc, alpha, pa, pb, pc, ldcb);
        } else {
          memory.fill(tile, 0, TILE_BYTES);
          kernel4x4(kc, alpha, pa, pb, tile, <usize>NR << 3);
          for (let r = 0; r < mr; r++) {
            const send = crosses ? min(nr, gi + r - jr + 1) : nr;
            const rowC = pc + <usize>r * ldcb;
            const rowT = tile + (<usize>(r * NR) << 3);
            for (let s = 0; s < send; s++) {
              const o = <usize>s << 3;
              store<f64>(rowC + o, load<f64>(rowC + o) + load<f64>(rowT + o));
            }
          }
        }
      }
      pa += aStep;
    }
    pb += bStep;
  }
}

// c + a b: one fused multiply-add per lane in the relaxed-SIMD build (vfmadd231pd where the CPU
// has FMA3; a relaxed_madd may also round twice, but one engine on one machine always does the
// same), a multiply then an add in the plain one.
// @ts-ignore: decorator
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(c, f64x2.mul(a, b));
}

// The hot loop. C tile rows r = 0..3, column pairs (0, 1) and (2, 3): c<r>0 and c<r>1. Per depth
// step: two B vector loads, four A broadcast loads, eight multiply-adds. The update of C is never
// fused: an edge tile goes through the scratch tile (alpha acc, then added), and a fused update
// of a full tile would round differently from it, so C's bits would depend on the tiling.
// @ts-ignore: decorator
@inline
function kernel4x4(kc: i32, alpha: f64, pa: usize, pb: usize, pc: usize, ldcb: usize): void {
  let c00 = f64x2.splat(0), c01 = f64x2.splat(0);
  let c10 = f64x2.splat(0), c11 = f64x2.splat(0);
  let c20 = f64x2.splat(0), c21 = f64x2.splat(0);
  let c30 = f64x2.splat(0), c31 = f64x2.splat(0);
  // an end pointer rather than a counter: one add and one register less in the loop
  const end = pb + (<usize>kc << 5);
  while (pb < end) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load64_splat(pa);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load64_splat(pa, 8);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load64_splat(pa, 16);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load64_splat(pa, 24);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    pa += 32;
    pb += 32;
  }
  const va = f64x2.splat(alpha);
  let r = pc;
  v128.store(r, f64x2.add(v128.load(r), f64x2.mul(va, c00)));
  v128.store(r, f64x2.add(v128.load(r, 16), f64x2.mul(va, c01)), 16);
  r += ldcb;
  v128.store(r, f64x2.add(v128.load(r), f64x2.mul(va, c10)));
  v128.store(r, f64x2.add(v128.load(r, 16), f64x2.mul(va, c11)), 16);
  r += ldcb;
  v128.store(r, f64x2.add(v128.load(r), f64x2.mul(va, c20)));
  v128.store(r, f64x2.add(v128.load(r, 16), f64x2.mul(va, c21)), 16);
  r += ldcb;
  v128.store(r, f64x2.add(v128.load(r), f64x2.mul(va, c30)));
  v128.store(r, f64x2.add(v128.load(r, 16), f64x2.mul(va, c31)), 16);
}

// Packs op(A) rows 0..mc-1, depth 0..kc-1 (element (i, p) at pA + 8 (i ai + p ap)) into MR-row
// micro-panels: panel t holds, for each p, rows t*MR .. t*MR + MR - 1 (zeros past mc).
function packPanelA(mc: i32, kc: i32, pA: usize, ai: i32, ap: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = min(MR, mc - ir);
    const src = pA + (<usize>(ir * ai) << 3);
    if (mr == MR && ai == 1) {
      // op(A) = A^T: the MR rows of one depth step are contiguous in memory.
      const step = <usize>ap << 3;
      let s = src;
      let d = dst;
      for (let p = 0; p < kc; p++) {
        for (let q = 0; q < MR; q += 2) v128.store(d + (<usize>q << 3), v128.load(s + (<usize>q << 3)));
        s += step;
        d += <usize>MR << 3;
      }
    } else {
      for (let r = 0; r < MR; r++) {
        let d = dst + (<usize>r << 3);
        if (r < mr) {
          const stepP = <usize>ap << 3;
          let s = src + (<usize>(r * ai) << 3);
          for (let p = 0; p < kc; p++) {
            store<f64>(d, load<f64>(s));
            s += stepP;
            d += <usize>MR << 3;
          }
        } else {
          for (let p = 0; p < kc; p++) {
            store<f64>(d, 0);
            d += <usize>MR << 3;
          }
        }
      }
    }
    dst += <usize>(kc * MR) << 3;
  }
}

// Packs op(B) depth 0..kc-1, columns 0..nc-1 (element (p, j) at pB + 8 (p bp + j bj)) into
// NR-column micro-panels: panel t holds, for each p, columns t*NR .. t*NR + NR - 1 (zeros past nc).
function packPanelB(kc: i32, nc: i32, pB: usize, bp: i32, bj: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    const src = pB + (<usize>(jr * bj) << 3);
    if (nr == NR && bj == 1) {
      const step = <usize>bp << 3;
      let s = src;
      let d = dst;
      for (let p = 0; p < kc; p++) {
        for (let q = 0; q < NR; q += 2) v128.store(d + (<usize>q << 3), v128.load(s + (<usize>q << 3)));
        s += step;
        d += <usize>NR << 3;
      }
    } else {
      for (let c = 0; c < NR; c++) {
        let d = dst + (<usize>c << 3);
        if (c < nr) {
          const stepP = <usize>bp << 3;
          let s = src + (<usize>(c * bj) << 3);
          for (let p = 0; p < kc; p++) {
            store<f64>(d, load<f64>(s));
            s += stepP;
            d += <usize>NR << 3;
          }
        } else {
          for (let p = 0; p < kc; p++) {
            store<f64>(d, 0);
            d += <usize>NR << 3;
          }
        }
      }
    }
    dst += <usize>(kc * NR) << 3;
  }
}
