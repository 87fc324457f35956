// One interface over the two ways to run a compiled graph: WebGPU kernels (the product) and the
// CPU reference interpreter (the oracle, and `--backend interp`). Training, verification and
// generation are written against it, so the same code checks both.
import type { Graph } from '../../compiler/ir/types.ts';

export type BackendName = 'webgpu' | 'interp';

export interface Executor {
  readonly backend: BackendName;
  readonly graph: Graph;
  setParam(name: string, data: Float32Array): void;
  getParam(name: string): Promise<Float32Array>;
  /** Optimizer state (AdamW moments), by state name (e.g. "<param>.exp_avg"). */
  setState(name: string, data: Float32Array): void;
  getState(name: string): Promise<Float32Array>;
  setInput(name: string, data: Int32Array | Float32Array): void;
  /** Runs the whole graph once (on the GPU: one command encoder, one submit, no readback). */
  run(): void;
  /** Reads a named graph output. */
  read(output: string): Promise<Float32Array | Int32Array>;
  /** Reads d(loss)/d(param) of a trainable parameter. */
  readGrad(param: string): Promise<Float32Array>;
  destroy(): void;
}

export function paramNames(graph: Graph, roles?: ReadonlyArray<'frozen' | 'adapter' | 'trainable'>): string[] {
  const names: string[] = [];
  for (const node of graph.nodes) {
    if (node.op !== 'param') continue;
    const attrs = node.attrs as { name: string; role: 'frozen' | 'adapter' | 'trainable' };
    if (!roles || roles.includes(attrs.role)) names.push(attrs.name);
  }
  return names;
}

export function stateNames(graph: Graph): string[] {
  return graph.nodes.filter((n) => n.op === 'state').map((n) => (n.attrs as { name: string }).name);
}

export function inputNames(graph: Graph): string[] {
  return graph.nodes.filter((n) => n.op === 'input').map((n) => (n.attrs as { name: string }).name);
}
