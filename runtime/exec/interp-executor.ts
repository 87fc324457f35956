// Executor over the CPU reference interpreter. Slow, exact to the chosen precision, no GPU needed:
// the oracle for the WebGPU backend and a fallback for `--backend interp`.
import { interpret, type HostTensor, type Precision } from '../../compiler/ir/interp.ts';
import type { Graph } from '../../compiler/ir/types.ts';
import { inputNames, paramNames, stateNames, type Executor, type ParamData } from './executor.ts';
import { paramValues } from '../device/param-data.ts';
import { joinOutputParts } from '../../compiler/ir/output-parts.ts';

export class InterpExecutor implements Executor {
  readonly backend = 'interp' as const;
  private readonly params: Record<string, Float32Array | Float64Array> = {};
  private readonly state: Record<string, Float32Array | Float64Array> = {};
  private readonly inputs: Record<string, HostTensor> = {};
  private last: { outputs: Record<string, HostTensor>; grads: Record<string, HostTensor> } | undefined;
  private readonly known: { params: Set<string>; state: Set<string>; inputs: Set<string> };

  constructor(
    readonly graph: Graph,
    private readonly precision: Precision = 'f32',
  ) {
    this.known = {
      params: new Set(paramNames(graph)),
      state: new Set(stateNames(graph)),
      inputs: new Set(inputNames(graph)),
    };
  }

  private copy(data: Float32Array): Float32Array | Float64Array {
    return this.precision === 'f64' ? Float64Array.from(data) : Float32Array.from(data);
  }

  /** 16-bit parameters are rounded by interpret() itself, as the GPU stores them. */
  setParam(name: string, data: ParamData, offset?: number): void {
    if (!this.known.params.has(name)) throw new Error(`graph has no parameter "${name}"`);
    if (offset === undefined) this.params[name] = this.copy(paramValues(data, name));
    else if (data instanceof Float32Array) this.writeAt(this.params, name, 'param', data, offset);
    else throw new Error(`a partial write of parameter "${name}" takes f32 values`);
  }
  /** A partial write into a leaf of the graph (zeros where it was never set, as on the GPU). */
  private writeAt(into: Record<string, Float32Array | Float64Array>, name: string, kind: 'param' | 'state', data: Float32Array, offset: number): void {
    const node = this.graph.nodes.find((n) => n.op === kind && (n.attrs as { name: string }).name === name)!;
    const n = node.type.shape.reduce((a, b) => a * b, 1);
    if (!(Number.isInteger(offset) && offset >= 0 && offset + data.length <= n)) throw new Error(`${kind} "${name}" has ${n} values; cannot write ${data.length} from ${offset}`);
    into[name] ??= this.copy(new Float32Array(n));
    into[name].set(data, offset);
  }
  async getParam(name: string): Promise<Float32Array> {
    const p = this.params[name];
    if (!p) throw new Error(`parameter "${name}" was never set`);
    return Float32Array.from(p);
  }
  setState(name: string, data: Float32Array, offset?: number): void {
    if (!this.known.state.has(name)) throw new Error(`graph has no state "${name}"`);
    if (offset === undefined) this.state[name] = this.copy(data);
    else this.writeAt(this.state, name, 'state', data, offset);
  }
  async getState(name: string): Promise<Float32Array> {
    const s = this.state[name];
    if (!s) throw new Error(`state "${name}" was never set`);
    return Float32Array.from(s);
  }
  setInput(name: string, data: Int32Array | Float32Array): void {
    if (!this.known.inputs.has(name)) return; // graphs without dropout have no "step" input, etc.
    this.inputs[name] = data.slice();
  }
  run(): void {
    // State the caller never set (fresh AdamW moments) starts at zero, as on the GPU.
    for (const node of this.graph.nodes) {
      if (node.op !== 'state') continue;
      const { name } = node.attrs as { name: string };
      if (!this.state[name]) this.state[name] = this.copy(new Float32Array(node.type.shape.reduce((a, b) => a * b, 1)));
    }
    this.last = interpret(this.graph, { inputs: this.inputs, params: this.params, state: this.state }, { precision: this.precision });
  }
  async read(output: string): Promise<Float32Array | Int32Array> {
    if (this.graph.outputParts?.[output]) return joinOutputParts(this.graph, output, (part) => this.read(part));
    const v = this.result().outputs[output];
    if (!v) throw new Error(`graph has no output "${output}"`);
    return v instanceof Int32Array ? v.slice() : Float32Array.from(v);
  }
  async readGrad(param: string): Promise<Float32Array> {
    const v = this.result().grads[param];
    if (!v) throw new Error(`graph has no gradient for "${param}"`);
    return Float32Array.from(v);
  }
  /** Full-precision access for verification in f64. */
  readRaw(output: string): HostTensor | undefined {
    return this.result().outputs[output];
  }
  private result(): NonNullable<InterpExecutor['last']> {
    if (!this.last) throw new Error('run() the graph before reading its results');
    return this.last;
  }
  async check(): Promise<void> {}
  destroy(): void {}
}
