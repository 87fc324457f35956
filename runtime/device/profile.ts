// Per-kernel profiling of a GpuProgram: each dispatch is submitted alone and awaited, the fastest of
// several reps kept (other processes sharing a lavapipe CPU only ever add time), and the results
// summed per pipeline key. One dispatch per submit includes the submit and fence round trip, so the
// empty-submit overhead is measured and subtracted (clamped at 0): the table shows kernel cost, and
// timeWholeStep (one run() plus reading a scalar) shows what a step costs in one command buffer.
import type { GpuProgram } from './program.ts';

export interface KernelRow {
  key: string;
  /** Dispatches with this key in one run. */
  count: number;
  /** Summed milliseconds per run (after subtracting the submit overhead). */
  ms: number;
  /** Largest workgroup grid seen, as a string "x×y×z". */
  grid: string;
}

export interface Profile {
  rows: KernelRow[];
  /** Sum of all rows. */
  kernelMs: number;
  /** Cost of one empty submit + onSubmittedWorkDone, already subtracted from each dispatch. */
  submitOverheadMs: number;
  dispatches: number;
}

const now = () => performance.now();

/** Fastest of `reps` timings: other processes sharing the CPU (lavapipe) only ever add time. */
async function timeIt(fn: () => void, done: () => Promise<unknown>, reps: number): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = now();
    fn();
    await done();
    best = Math.min(best, now() - t0);
  }
  return best;
}

/** Times every dispatch of `program` alone; `program.run()` should have run once before. */
export async function profileKernels(program: GpuProgram, reps = 3): Promise<Profile> {
  const device = program.gpu.device;
  const done = () => device.queue.onSubmittedWorkDone();
  const launches = program.launches;
  const empty = () => device.queue.submit([device.createCommandEncoder().finish()]);
  await timeIt(empty, done, 5);
  const overhead = await timeIt(empty, done, 20);
  const byKey = new Map<string, KernelRow>();
  for (let i = 0; i < launches.length; i++) {
    program.runSteps(i); // warm this dispatch (first-use costs of a pipeline)
    await done();
    const ms = Math.max(0, (await timeIt(() => program.runSteps(i), done, reps)) - overhead);
    const l = launches[i]!;
    const row = byKey.get(l.key) ?? { key: l.key, count: 0, ms: 0, grid: '' };
    row.count++;
    row.ms += ms;
    const g = l.grid.join('×');
    if (l.grid[0] * l.grid[1] * l.grid[2] >= (row.grid ? row.grid.split('×').reduce((a, b) => a * Number(b), 1) : 0)) row.grid = g;
    byKey.set(l.key, row);
  }
  const rows = [...byKey.values()].sort((a, b) => b.ms - a.ms);
  return { rows, kernelMs: rows.reduce((a, r) => a + r.ms, 0), submitOverheadMs: overhead, dispatches: launches.length };
}

/** Fastest milliseconds of `step()` followed by awaiting `sync()`, after `warmup` untimed steps. */
export async function timeWholeStep(step: () => void, sync: () => Promise<unknown>, reps = 5, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) {
    step();
    await sync();
  }
  return timeIt(step, sync, reps);
}

export function formatProfile(p: Profile): string {
  const lines = [`${'ms'.padStart(9)}  ${'n'.padStart(3)}  ${'grid'.padEnd(14)} kernel`];
  for (const r of p.rows) lines.push(`${r.ms.toFixed(2).padStart(9)}  ${String(r.count).padStart(3)}  ${r.grid.padEnd(14)} ${r.key}`);
  lines.push(`${p.kernelMs.toFixed(2).padStart(9)}  ${String(p.dispatches).padStart(3)}  ${''.padEnd(14)} total (submit overhead ${p.submitOverheadMs.toFixed(3)} ms/dispatch subtracted)`);
  return lines.join('\n');
}
