// Section 1: f32 matmul C = A·B (M = N = K = size), ours (one GpuProgram with one matmul node)
// against tfjs's tf.matMul, each synced on its own queue, timed round-robin.
import { compileGraph } from '../compiler/compile.ts';
import { GraphBuilder } from '../compiler/ir/builder.ts';
import type { Target } from '../compiler/target.ts';
import type { GpuContext } from '../runtime/device/device.ts';
import { GpuProgram } from '../runtime/device/program.ts';
import type { MatmulRow } from './format.ts';
import type { TfWebgpu } from './tf.ts';
import { gflops, timeInterleaved, type TimingOptions, type Variant } from './timing.ts';

export function randomArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

export function timingFor(flops: number, quick: boolean): TimingOptions {
  // Fewer samples for big problems on slow adapters; the inner loop covers tiny ones.
  const reps = flops > 5e10 ? 5 : quick ? 7 : 9;
  return { warmup: 2, reps, minSampleMs: quick ? 20 : 50, maxInner: 50 };
}

interface Runner extends Variant {
  dispose(): void;
}

export async function oursMatmul(gpu: GpuContext, target: Target, m: number, n: number, k: number): Promise<Runner> {
  const b = new GraphBuilder();
  const a = b.input('a', 'f32', [m, k]);
  const w = b.param('b', [k, n], 'frozen');
  b.output('c', b.matmul(a, w, false, 'c'));
  const program = await GpuProgram.create(gpu, compileGraph(b.graph, { target }));
  program.setInput('a', randomArray(m * k, 1));
  program.setParam('b', randomArray(k * n, 2));
  return { step: () => program.run(), sync: () => gpu.device.queue.onSubmittedWorkDone(), dispose: () => program.destroy() };
}

export function tfjsMatmul(tfw: TfWebgpu, m: number, n: number, k: number): Runner {
  const { tf } = tfw;
  const a = tf.tensor2d(randomArray(m * k, 1), [m, k]);
  const w = tf.tensor2d(randomArray(k * n, 2), [k, n]);
  return { step: () => tf.matMul(a, w).dispose(), sync: () => tfw.sync(), dispose: () => tf.dispose([a, w]) };
}

export async function benchMatmul(gpu: GpuContext, target: Target, tfw: TfWebgpu | undefined, sizes: number[], quick: boolean, log: (s: string) => void): Promise<MatmulRow[]> {
  const rows: MatmulRow[] = [];
  for (const size of sizes) {
    const flops = 2 * size ** 3;
    const runners = [await oursMatmul(gpu, target, size, size, size)];
    if (tfw) runners.push(tfjsMatmul(tfw, size, size, size));
    const [ours, theirs] = await timeInterleaved(runners, timingFor(flops, quick));
    for (const r of runners) r.dispose();
    const row: MatmulRow = { m: size, n: size, k: size, oursMs: ours!.ms, oursGflops: gflops(flops, ours!.ms) };
    if (theirs) {
      row.tfjsMs = theirs.ms;
      row.tfjsGflops = gflops(flops, theirs.ms);
      row.ratio = row.oursGflops / row.tfjsGflops;
    }
    log(`matmul ${size}: ours ${row.oursGflops.toFixed(1)} GFLOP/s${row.tfjsGflops !== undefined ? `, tfjs ${row.tfjsGflops.toFixed(1)}` : ''}`);
    rows.push(row);
  }
  return rows;
}
