// The sweeps of a run with the low-rank kernel (engine/lowrank.ts, set up by lowrank-setup.ts): the
// sweep loop as a generator of blocks (pipeline/lowrank-blocks.ts), with the dense run's schedule,
// extrapolation, stopping and checkpoints between phases; a spilled run's phases chunk by chunk, on
// the cluster (`remote`) as tasks of whole passes, taken back and added up chunk by chunk.

import { Rng } from '../kernels/random.ts';
import {
  identityKernel, kernelFromEigen, packKernel, projectBlock, subspaceIteration, unpackKernel, type LowRankFit, type LowRankKernel,
} from '../engine/lowrank.ts';
import type { CompletionResult, EngineOptions, LambdaSchedule, LinRfmModel, StopReason, SweepCallback, SweepInfo, SweepProbe } from '../engine/options.ts';
import { predictLowRank } from '../engine/prediction.ts';
import { addSideBias } from '../engine/side-bias.ts';
import { initialSchedule, nextStep, recordFit, scheduleOf, stopAfterFit, type ScheduleOptions } from '../engine/schedule.ts';
import { checkpointAfter, completionOf, finalRidge, sumSolves } from './loopsteps.ts';
import { chooseRank, eigenAtRank, packedRank, RANK_LAST_SWEEP } from '../engine/rank.ts';
import { ResumeMismatch, type EngineState, type RunControl } from '../engine/state.ts';
import { nextOperandKey, type Block, type BlockResult } from './blocks.ts';
import { chunkShare } from './lowrank-blocks.ts';
import { allocLowRank, sideBiasOf, type LowRankSetup } from './lowrank-setup.ts';
import { remoteChunk } from './spill.ts';

/** Power steps of the first sweep, which has no previous subspace to start from. */
export const FIRST_POWER_STEPS = 6;

/** The sketch's seed for a sweep: a function of the run's seed and the sweep alone, so a resumed run draws what it would have. */
function sweepRng(seed: number, sweep: number): Rng {
  return new Rng(Math.imul(seed, 0x9e3779b1) ^ Math.imul(sweep + 1, 0x85ebca6b) ^ 0x10a7);
}

/**
 * The sweeps of a low-rank run, as sweepLoop (pipeline/sweeploop.ts) runs the dense ones: it yields
 * each phase's blocks and is resumed with their results in block order. The extrapolation is taken
 * on the AGOP as an operator, G + beta (G - G_prev), whose negative Ritz values are clipped.
 * `remote`: a spilled run's solves and operator rows go to the cluster, with the same bits.
 */
export function* lowRankLoop(
  run: LowRankSetup, opts: EngineOptions, onSweep: SweepCallback | undefined, control: RunControl, t0: number, remote = false,
): Generator<Block[], CompletionResult, BlockResult[]> {
  const { data, d, nVal, momentum, store, arrays } = run;
  if (remote && store === null) throw new RangeError('a run on the cluster is a spilled run: give the spill options');
  // the kernel side's biases, fitted along with the sweeps (engine/side-bias.ts), and a spilled
  // run's biases of each slot's fit (it reads a slot's targets again in the operator's pass)
  const sided = opts.sideBias ? sideBiasOf(run) : null;
  const side = sided?.side ?? null;
  const fitBias: Array<Float64Array | null> = [null, null];
  let { k } = run;
  let lr = arrays.lr!;
  let p = lr.p;
  // --kernel-rank auto: the rank may change once, from a sweep's spectrum (engine/rank.ts)
  const auto = opts.kernelRankAuto;
  const startRank = k;
  const rankCap = Math.min(d, 2 * startRank);
  let rankDecided = !auto;
  let rankNote: string | undefined = auto ? undefined : `--kernel-rank ${k}`;
  const ms = data.scale * data.scale;
  const schedule: LambdaSchedule = nVal === 0 ? 'fixed' : opts.lambdaSchedule;
  const scheduleOpts: ScheduleOptions = { ...opts, momentum };
  // each slot's tauK and the ridge of its fit (the kernels' U and w are in the shared slots)
  const tauK = [1, 1];
  const ridge = [opts.lambda, opts.lambda];
  // names each slot's U, for the threads' resident copies; and each slot's fit, for the cluster's copies
  const uKey = [0, 0];
  const fitKey = [0, 0];
  let cur = 0;
  let prev = -1;
  const kernelOf = (s: number): LowRankKernel => ({ d, k, U: lr.slots[s]!.U, w: lr.slots[s]!.w, tauK: tauK[s]! });
  const fitOf = (s: number): LowRankFit => ({ ...lr.slots[s]!, c: tauK[s]! + ridge[s]! });
  const setKernel = (s: number, K: LowRankKernel): void => {
    lr.slots[s]!.U.set(K.U);
    lr.slots[s]!.w.set(K.w);
    tauK[s] = K.tauK;
    uKey[s] = nextOperandKey();
  };
  setKernel(0, identityKernel(d, k));
  let best = packKernel(kernelOf(0));
  let sched = initialSchedule(opts);
  let stopReason: StopReason = 'max-sweeps';
  let spectrum = { s: [] as number[], tau: 0 };
  const history: SweepInfo[] = [];
  let Ycur = new Float64Array(d * p);
  // a new rank: the arrays and blocks at that rank (the fits' `a` carried over); the run's arrays point at them
  const setRank = (rank: number): void => {
    lr = allocLowRank(run, rank, opts, lr);
    k = rank;
    p = lr.p;
    Ycur = new Float64Array(d * p);
  };

  // a pass's number within its sweep, and a chunk as the cluster's tasks describe it
  let passAt = { sweep: -1, next: 0 };
  const nextPass = (): number => {
    if (passAt.sweep !== sweep) passAt = { sweep, next: 0 };
    return passAt.next++;
  };

  // Row solves with slot s's kernel: all rows at once in memory, chunk after chunk when spilled;
  // `step`: the sweep's own fit, whose residuals the side biases' half step takes
  function* solve(s: number, lambda: number, withValidation: boolean, step = false): Generator<Block[], BlockResult[], BlockResult[]> {
    const held = (v: number): number => (withValidation ? v : 0);
    const c = tauK[s]! + lambda;
    if (side !== null && store !== null) fitBias[s] = side.fitted.slice();
    const blocks = (ranges: Array<[number, number, number, number]>, g0: number): Block[] => ranges.map(([r0, r1, v0, v1]): Block => ({
      kind: 'lr-solve', slot: s, uKey: uKey[s]!, tauK: tauK[s]!, lambda, r0, r1, v0: held(v0), v1: held(v1), g0,
    }));
    if (store === null) {
      // with side biases the solve blocks take their rows' targets, and the half step's sums are
      // each operator row group's, added in group order
      if (side !== null) lr.side!.b.set(side.fitted);
      const out = yield blocks(run.plan.solve, 0);
      if (step && side !== null) {
        yield run.plan.rows.map(([r0, r1], part): Block => ({ kind: 'lr-bias', slot: s, c, r0, r1, part }));
        for (let g = 0; g < run.plan.rows.length; g++) side.addSums(lr.side!.sums.subarray(g * d, (g + 1) * d));
      }
      return out;
    }
    const out: BlockResult[] = [];
    fitKey[s] = nextOperandKey();
    if (remote) {
      const { U, w, bs } = lr.slots[s]!;
      const chunks = store.chunks.map((c) => remoteChunk(c, run.chunkPlans[c.index]!.solve.map(([r0, r1, v0, v1]) => [r0, r1, held(v0), held(v1)])));
      const bias = side?.fitted;
      yield [{ kind: 'dispatch', pass: { kind: 'lr-solve', sweep, pass: nextPass(), d, chunks, k, tauK: tauK[s]!, lambda, U, w, ...(bias === undefined ? {} : { bias }) } }];
      for (const ch of store.chunks) {
        // with side biases, the chunk's bs and then its share of the half step
        const got = bias === undefined ? bs.subarray(ch.r0 * k, ch.r1 * k) : new Float64Array((ch.r1 - ch.r0) * k + d);
        out.push(...(yield [{ kind: 'collect', chunk: ch.index, out: got }]));
        if (bias === undefined) continue;
        bs.set(got.subarray(0, (ch.r1 - ch.r0) * k), ch.r0 * k);
        if (step) side!.addSums(got.subarray((ch.r1 - ch.r0) * k));
      }
      return out;
    }
    for (const ch of store.chunks) {
      store.load(ch, arrays);
      out.push(...(yield blocks(run.chunkPlans[ch.index]!.solve, ch.r0)));
      if (step && side !== null) side.add(arrays.train.colIdx, arrays.a, c, ch.nTrain);
    }
    return out;
  }

  // G X for slot s's kernel and fit into lr.Y: the rows' phase, their shares of PS and c A^T Z added
  // in group order, the columns' phase. Spilled, each chunk's share (its groups' added up,
  // chunkShare) is added into group 0 as the chunks go, and the columns' phase reads that one group.
  function* applyOperator(s: number, X: Float64Array): Generator<Block[], void, BlockResult[]> {
    lr.X.set(X);
    projectBlock(lr.slots[s]!.U, d, k, lr.X, p, lr.T);
    const c = tauK[s]! + ridge[s]!;
    const kp = k * p;
    const dp = d * p;
    lr.PS.fill(0);
    let groups: number;
    if (store === null) {
      yield run.plan.rows.map(([r0, r1], part): Block => ({ kind: 'lr-rows', slot: s, c, r0, r1, part, g0: 0 }));
      groups = run.plan.rows.length;
      for (let part = 0; part < groups; part++) for (let e = 0; e < kp; e++) lr.PS[e] += lr.P[part * kp + e]!;
    } else {
      const acc = lr.YP.subarray(0, dp);
      acc.fill(0);
      const share = new Float64Array(kp + dp);
      const add = (): void => {
        for (let e = 0; e < kp; e++) lr.PS[e] += share[e]!;
        for (let e = 0; e < dp; e++) acc[e] += share[kp + e]!;
      };
      if (remote) {
        const { U, bs } = lr.slots[s]!;
        const chunks = store.chunks.map((ch) => remoteChunk(ch, run.chunkPlans[ch.index]!.rows.map(([r0, r1]) => [r0, r1, 0, 0])));
        const bias = fitBias[s] ?? undefined;
        yield [{ kind: 'dispatch', pass: { kind: 'lr-rows', sweep, pass: nextPass(), d, chunks, k, p, c, U, X: lr.X, T: lr.T, fit: fitKey[s]!, bs, ...(bias === undefined ? {} : { bias }) } }];
        for (const ch of store.chunks) {
          yield [{ kind: 'collect', chunk: ch.index, out: share }];
          add();
        }
      } else {
        // the slot's fit is read again from its targets
        if (side !== null) store.setOffset(fitBias[s]!);
        for (const ch of store.chunks) {
          store.load(ch, arrays);
          const rows = run.chunkPlans[ch.index]!.rows;
          yield rows.map(([r0, r1], g): Block => ({ kind: 'lr-rows', slot: s, c, r0, r1, part: 1 + g, g0: ch.r0 }));
          chunkShare(lr.P, lr.YP, 1, rows.length, kp, dp, share);
          add();
        }
        if (side !== null) store.setOffset(side.fitted);
      }
      groups = 1;
    }
    yield run.plan.cols.map(([j0, j1]): Block => ({ kind: 'lr-cols', slot: s, j0, j1, groups, n: run.n }));
  }

  // predictions with a kernel and a fit (null: each row solved afresh) over the rows in memory or chunk by chunk
  const predictWith = (K: LowRankKernel, lambda: number, fit: LowRankFit | null, trainOnly: boolean) =>
    (rows: Int32Array, cols: Int32Array, out: Float64Array = new Float64Array(rows.length)): Float64Array => store === null
      ? predictLowRank(data, K, lambda, fit, trainOnly, rows, cols, out)
      : store.predict(data, rows, cols, out, (view, chunk, lr1, lc, part) => {
        const f = fit === null ? null : { ...fit, bs: fit.bs.subarray(chunk.r0 * K.k) };
        return predictLowRank(view, K, lambda, f, trainOnly, lr1, lc, part);
      });

  let sweep = 0;
  const state = (sweepsDone: number): EngineState => {
    // the previous kernel for the extrapolation, after the ridge of its fit
    let Gprev = new Float64Array(0);
    if (prev >= 0) {
      const packed = packKernel(kernelOf(prev));
      Gprev = new Float64Array(1 + packed.length);
      Gprev[0] = ridge[prev]!;
      Gprev.set(packed, 1);
    }
    return { sweepsDone, d, runId: run.id, ...sched, history, K: packKernel(kernelOf(cur)), best, Gprev, ...(side === null ? {} : { bias: side.pack() }) };
  };
  const r = control.resume;
  if (r !== undefined) {
    // an automatic rank resumes at the rank the checkpoint's kernel has
    const rank = packedRank(r.K, d);
    if (auto && Number.isInteger(rank) && rank >= 1 && rank <= rankCap && rank !== k) setRank(rank);
    const Kr = unpackKernel(r.K, d, k);
    const prevLen = r.Gprev.length;
    const bestRank = packedRank(r.best, d);
    const bestOk = auto ? Number.isInteger(bestRank) && bestRank >= 1 && bestRank <= rankCap : r.best.length === best.length;
    // the side biases take up the last fit's targets, which the previous fit is solved again with
    const biasOk = side === null ? (r.bias?.length ?? 0) === 0 : r.bias !== undefined && side.unpack(r.bias);
    if (r.runId !== run.id || r.d !== d || Kr === null || !bestOk || !biasOk || (prevLen !== 0 && (momentum === 0 || prevLen !== 1 + r.K.length))) {
      throw new ResumeMismatch(r.runId, run.id);
    }
    // undecided until the rank moved or its last sweep passed (chooseRank decides at the end of a sweep)
    rankDecided = !auto || k !== startRank || r.sweepsDone > RANK_LAST_SWEEP;
    if (auto && rankDecided) rankNote = `rank ${k}, as chosen before the run was resumed`;
    sweep = r.sweepsDone;
    sched = scheduleOf(r);
    history.push(...r.history);
    setKernel(0, Kr);
    best = r.best.slice();
    if (prevLen > 0) {
      // the previous sweep's fit is not state: it is that sweep's solves again, the same bits
      prev = 1;
      setKernel(1, unpackKernel(r.Gprev.subarray(1), d, k)!);
      ridge[1] = r.Gprev[0]!;
      yield* solve(1, ridge[1], false);
    }
  }

  const probe: SweepProbe = {
    predict: (rows, cols, out) => {
      const o = predictWith(kernelOf(cur), ridge[cur]!, fitOf(cur), true)(rows, cols, out);
      return side === null ? o : addSideBias(Float64Array.from(side.fitted, (b) => b * data.scale), data.transposed, rows, cols, o);
    },
  };

  for (; sweep < opts.maxSweeps; sweep++) {
    const ts = performance.now();
    const lambda = sched.lambda;
    ridge[cur] = lambda;
    if (side !== null && store === null) side.use(side.current);
    else side?.apply(side.current);
    const solved = yield* solve(cur, lambda, true, true);
    // the next targets' biases, a half step from this fit (taken up at the next sweep's start)
    side?.step();
    const { fallbacks, se } = sumSolves(solved);
    const mse = nVal > 0 ? se / nVal : Number.NaN;
    const fit = recordFit(sched, sweep, mse, nVal > 0);
    sched = fit.state;
    if (fit.best) {
      best = packKernel(kernelOf(cur));
      side?.best.set(side.fitted);
    }
    const info: SweepInfo = {
      sweep, lambda: lambda * ms, validationRmse: Math.sqrt(mse) * data.scale, validationRelMse: mse, agop: 'low-rank', kernelRank: k,
      cholFallbacks: fallbacks, restarts: sched.restarts, seconds: 0, solveSeconds: (performance.now() - ts) / 1000, agopSeconds: 0,
    };
    const tc = performance.now();
    const verdict = onSweep ? onSweep(info, probe) : undefined;
    const callbackMs = performance.now() - tc;
    let stop = stopAfterFit(sched, sweep, mse, nVal > 0, verdict === 'stop', opts);
    if (stop === null && sweep + 1 < opts.maxSweeps) {
      const ta = performance.now();
      const step = nextStep(sched, mse, scheduleOpts, schedule);
      sched = step.state;
      const { keepPrevious, beta } = step.next;
      const last = beta > 0 && prev >= 0 ? prev : -1;
      const first = sweep === 0;
      const it = subspaceIteration(d, k, first ? null : lr.slots[cur]!.U, opts.kernelOversample, first ? FIRST_POWER_STEPS : opts.kernelPowerSteps, sweepRng(opts.seed, sweep));
      let s = it.next();
      while (!s.done) {
        yield* applyOperator(cur, s.value);
        let GV = lr.Y;
        if (last >= 0) {
          // the extrapolated operator: (1 + beta) G V - beta G_prev V
          Ycur.set(lr.Y);
          yield* applyOperator(last, s.value);
          for (let e = 0; e < d * p; e++) Ycur[e] = Ycur[e]! + beta * (Ycur[e]! - lr.Y[e]!);
          GV = Ycur;
        }
        s = it.next(GV);
      }
      let eig = s.value;
      const decision = rankDecided ? null : chooseRank(eig.ritz, k, rankCap, sweep);
      if (decision !== null) {
        rankDecided = true;
        rankNote = decision.why;
        info.rankChoice = decision.why;
      }
      if (decision !== null && decision.rank !== k) {
        // the next kernel at the new rank, in fresh arrays; no extrapolation across the change
        eig = eigenAtRank(eig, d, decision.rank, sweepRng(opts.seed ^ 0x5eed, sweep));
        setRank(decision.rank);
        prev = -1;
        cur = 0;
      } else if (keepPrevious) {
        // this sweep's kernel and fit become the previous ones; the next kernel takes the other slot
        prev = cur;
        cur = 1 - cur;
      }
      spectrum = { s: Array.from(eig.s, (x) => x * ms), tau: eig.tau * ms };
      setKernel(cur, kernelFromEigen(eig, opts.alpha));
      if (!eig.s.every(Number.isFinite) || !Number.isFinite(eig.tau)) stop = 'diverged';
      info.agopSeconds = (performance.now() - ta) / 1000;
    }
    info.seconds = (performance.now() - ts - callbackMs) / 1000;
    history.push(info);
    if (stop === null && sweep + 1 < opts.maxSweeps) {
      if (checkpointAfter(control, sweep, () => state(sweep + 1))) stop = 'interrupted';
    }
    if (stop !== null) {
      stopReason = stop;
      sweep++;
      break;
    }
  }
  const bestK = unpackKernel(best, d, packedRank(best, d))!;
  // the best sweep's targets for the ridge search and the predictions, its biases in the data's units
  const finished = side?.finish(data.scale);
  if (finished !== undefined) sided!.takeAll(finished.engine);
  const bias = finished?.model;
  // the final ridge: the best kernel into the current slot (unless a rank change came after it), its solves at each ridge tried
  const fin = bestK.k !== k
    ? { sched, ridgeSearch: null }
    : yield* finalRidge(sched, opts, nVal, stopReason, data.scale, () => setKernel(cur, bestK), (lambda) => solve(cur, lambda, true));
  sched = fin.sched;
  const model: LinRfmModel = { d, K: new Float64Array(0), lambda: sched.bestLambda, scale: data.scale, transposed: data.transposed, alpha: opts.alpha, lowRank: bestK,
    ...(bias === undefined ? {} : { bias }),
  };
  return completionOf({ model, sched, stopReason, sweeps: sweep, history, t0, opts, nTrain: run.nTrain, nVal }, {
    predict: (rows, cols, out) => {
      const o = predictWith(bestK, model.lambda, null, false)(rows, cols, out);
      return bias === undefined ? o : addSideBias(bias, data.transposed, rows, cols, o);
    },
    spectrum: { ...spectrum, rankNote },
    spilledChunks: store === null ? 0 : store.chunks.length,
    release: () => store?.dispose(),
    ridgeSearch: fin.ridgeSearch,
  });
}
