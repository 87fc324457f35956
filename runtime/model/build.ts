// From a checked model to something that runs: lower, differentiate, append the optimizer, run
// the passes, and hand the graph to a backend. The one recipe every command uses.
import type { CheckedModel } from '../../compiler/check/model.ts';
import { differentiate } from '../../compiler/autodiff/differentiate.ts';
import { lowerModel, type LowerOptions } from '../../compiler/lower/lower-model.ts';
import { appendAdamW, type AdamWSettings } from '../../compiler/optim/adamw.ts';
import { pipeline } from '../../compiler/passes/pipeline.ts';
import type { Graph } from '../../compiler/ir/types.ts';
import type { BackendName, Executor } from '../exec/executor.ts';
import { InterpExecutor } from '../exec/interp-executor.ts';
import type { GpuContext } from '../device/device.ts';

export type GraphMode = 'train' | 'eval' | 'decode';

export interface BuildOptions {
  mode: GraphMode;
  batch: number;
  seq: number;
  /** Run the fusion passes (default true; off for fused-vs-unfused comparisons). */
  fuse?: boolean;
  fullFinetune?: boolean;
  adamw?: AdamWSettings;
  /** KV-cache length for mode 'decode'. */
  cacheLen?: number;
  dropoutSeed?: number;
}

export const DEFAULT_ADAMW: AdamWSettings = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

export function buildGraph(model: CheckedModel, o: BuildOptions): Graph {
  const lower: LowerOptions = { batch: o.batch, seq: o.seq, fullFinetune: o.fullFinetune, loss: o.mode !== 'decode', training: o.mode === 'train' };
  if (o.mode === 'decode') lower.decode = { cacheLen: o.cacheLen ?? o.seq };
  if (o.dropoutSeed !== undefined) lower.dropoutSeed = o.dropoutSeed;
  let graph = lowerModel(model, lower);
  if (o.mode === 'train') {
    const loss = graph.outputs['loss'];
    if (loss === undefined) throw new Error(`${model.file}: the model has no loss to train (no token output?)`);
    graph = differentiate(graph, loss);
    graph = appendAdamW(graph, o.adamw ?? DEFAULT_ADAMW);
  }
  return pipeline(graph, { fuse: o.fuse ?? true });
}

export interface ExecutorOptions {
  backend: BackendName;
  gpu?: GpuContext;
  /** Interpreter precision (default f32, like the GPU). */
  precision?: 'f32' | 'f64';
}

export async function createExecutor(graph: Graph, o: ExecutorOptions): Promise<Executor> {
  if (o.backend === 'interp') return new InterpExecutor(graph, o.precision ?? 'f32');
  if (!o.gpu) throw new Error('createExecutor: the webgpu backend needs a GpuContext');
  const { GpuExecutor } = await import('../exec/gpu-executor.ts');
  return GpuExecutor.create(o.gpu, graph);
}
