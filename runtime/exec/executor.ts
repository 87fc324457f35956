// One interface over the two ways to run a compiled graph: WebGPU kernels (the product) and the
// CPU reference interpreter (the oracle, and `--backend interp`). Training, verification and
// generation are written against it, so the same code checks both.
import type { Graph } from '../../compiler/ir/types.ts';
import type { ParamData } from '../device/param-data.ts';

export type { ParamData } from '../device/param-data.ts';

export type BackendName = 'webgpu' | 'interp';

export interface Executor {
  readonly backend: BackendName;
  readonly graph: Graph;
  /**
   * A parameter's value: f32 numbers, or a tensor as its file stores it (F32/F16/BF16): a frozen
   * 16-bit weight (the compiler's storage pass) uploads it unchanged; f32 weights convert it. With
   * `offset`, f32 values written from that element on (one adapter slot of a stacked buffer), the
   * rest unchanged.
   */
  setParam(name: string, data: ParamData, offset?: number): void;
  /** A parameter's value as f32 (16-bit weights widened). */
  getParam(name: string): Promise<Float32Array>;
  /** Optimizer state (AdamW moments) or a KV cache, by state name (e.g. "<param>.exp_avg"); `offset` as in setParam. */
  setState(name: string, data: Float32Array, offset?: number): void;
  getState(name: string): Promise<Float32Array>;
  setInput(name: string, data: Int32Array | Float32Array): void;
  /** Runs the whole graph once (on the GPU: one command encoder, one submit, no readback). */
  run(): void;
  /** Reads a named graph output (one held in parts, graph.outputParts, is joined). */
  read(output: string): Promise<Float32Array | Int32Array>;
  /**
   * Waits for the work run so far and throws a DeviceError if any of it failed (validation,
   * out-of-memory, device loss). Reads check by themselves; call it before writing anything computed.
   */
  check(): Promise<void>;
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
