// Section 2: one LoRA linear layer y = x·W0ᵀ + (alpha/r)·(x·Aᵀ)·Bᵀ, forward and backward, with the
// fusion passes on (fuse-lowrank turns y and dx = dy·W0 + ds·A into lowrank_matmul GEMMs) and off.
// x is a trainable tensor so that autodiff computes dx as a layer inside a network would; the
// loss is sumsq(y), whose gradient 2y stands in for the upstream dy. No optimizer step.
import { autodiff, compileGraph, passes } from '../compiler/compile.ts';
import { GraphBuilder } from '../compiler/ir/builder.ts';
import type { Graph } from '../compiler/ir/types.ts';
import type { Target } from '../compiler/target.ts';
import type { GpuContext } from '../runtime/device/device.ts';
import { GpuProgram } from '../runtime/device/program.ts';
import type { LoraRow } from './format.ts';
import { randomArray, timingFor } from './matmul.ts';
import { timeInterleaved } from './timing.ts';

export function loraLinearGraph(rows: number, d: number, r: number, fuse: boolean): Graph {
  const b = new GraphBuilder();
  const x = b.param('x', [rows, d], 'trainable');
  const w0 = b.param('w0', [d, d], 'frozen');
  const a = b.param('lora_A', [r, d], 'adapter');
  const bb = b.param('lora_B', [d, r], 'adapter');
  const base = b.matmul(x, w0, true, 'base');
  const low = b.scale(b.matmul(b.matmul(x, a, true, 's'), bb, true), 2, 'low');
  const y = b.add(base, low, 'y');
  const loss = b.emit('sumsq', [y], {}, 'loss');
  b.output('loss', loss);
  return passes(autodiff(b.graph), { fuse });
}

export function countOps(graph: Graph, op: string): number {
  return graph.nodes.filter((n) => n.op === op).length;
}

async function variant(gpu: GpuContext, target: Target, rows: number, d: number, r: number, fuse: boolean) {
  const graph = loraLinearGraph(rows, d, r, fuse);
  const program = await GpuProgram.create(gpu, compileGraph(graph, { target }));
  program.setParam('x', randomArray(rows * d, 3));
  program.setParam('w0', randomArray(d * d, 4).map((v) => v / Math.sqrt(d)));
  program.setParam('lora_A', randomArray(r * d, 5));
  program.setParam('lora_B', randomArray(d * r, 6));
  return {
    program,
    lowrank: countOps(graph, 'lowrank_matmul'),
    step: () => program.run(),
    sync: () => gpu.device.queue.onSubmittedWorkDone(),
  };
}

export async function benchLora(gpu: GpuContext, target: Target, ds: number[], ranks: number[], rows: number, quick: boolean, log: (s: string) => void): Promise<LoraRow[]> {
  const out: LoraRow[] = [];
  for (const d of ds) {
    for (const r of ranks) {
      const fused = await variant(gpu, target, rows, d, r, true);
      const unfused = await variant(gpu, target, rows, d, r, false);
      if (fused.lowrank === 0) log(`warning: d=${d} r=${r}: the fused graph has no lowrank_matmul (fuse-lowrank did not fire)`);
      const [tf, tu] = await timeInterleaved([fused, unfused], timingFor(6 * rows * d * d, quick));
      const row: LoraRow = {
        d, r, rows, fusedMs: tf!.ms, unfusedMs: tu!.ms, speedup: tu!.ms / tf!.ms,
        fusedDispatches: fused.program.stats.dispatchesPerRun, unfusedDispatches: unfused.program.stats.dispatchesPerRun,
      };
      fused.program.destroy();
      unfused.program.destroy();
      log(`lora d=${d} r=${r}: fused ${row.fusedMs.toFixed(3)} ms (${row.fusedDispatches} dispatches), unfused ${row.unfusedMs.toFixed(3)} ms (${row.unfusedDispatches}) -> ${row.speedup.toFixed(2)}x`);
      out.push(row);
    }
  }
  return out;
}
