// Timing with GPU synchronisation. A sample enqueues `inner` steps and then waits for the GPU
// (`sync`), so per-step time = sample / inner; `inner` grows until a sample takes at least
// `minSampleMs`, which keeps launch/sync latency from swamping small problems. Warm-up runs first.
export interface TimingOptions {
  warmup: number;
  reps: number;
  /** Aim for samples at least this long (ms) by batching steps between syncs. */
  minSampleMs: number;
  /** Never put more than this many steps in one sample. */
  maxInner: number;
}

export interface Timing {
  /** Median milliseconds per step. */
  ms: number;
  min: number;
  max: number;
  reps: number;
  inner: number;
}

export const now = (): number => performance.now();

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function timeSteps(
  step: () => void | Promise<void>,
  sync: () => Promise<void>,
  o: TimingOptions,
): Promise<Timing> {
  return (await timeInterleaved([{ step, sync }], o))[0]!;
}

/** GFLOP/s of `flops` done in `ms`. */
export const gflops = (flops: number, ms: number): number => flops / (ms * 1e6);

export interface Variant {
  step: () => void | Promise<void>;
  sync: () => Promise<void>;
}

/**
 * Times several variants round-robin (A B C A B C ...), so drift in machine load (other processes
 * on a shared CPU adapter, clocks) hits all of them alike. Each gets its own warm-up and inner count.
 */
export async function timeInterleaved(variants: readonly Variant[], o: TimingOptions): Promise<Timing[]> {
  const inners: number[] = [];
  for (const v of variants) {
    let single = Infinity;
    for (let i = 0; i < Math.max(o.warmup, 1); i++) {
      const t0 = now();
      await v.step();
      await v.sync();
      single = Math.min(single, now() - t0);
    }
    inners.push(Math.max(1, Math.min(o.maxInner, Math.ceil(o.minSampleMs / Math.max(single, 1e-3)))));
  }
  const samples: number[][] = variants.map(() => []);
  for (let r = 0; r < o.reps; r++) {
    for (const [k, v] of variants.entries()) {
      const inner = inners[k]!;
      const t0 = now();
      for (let i = 0; i < inner; i++) await v.step();
      await v.sync();
      samples[k]!.push((now() - t0) / inner);
    }
  }
  return samples.map((s, k) => ({ ms: median(s), min: Math.min(...s), max: Math.max(...s), reps: o.reps, inner: inners[k]! }));
}
