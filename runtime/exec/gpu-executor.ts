// Executor over a compiled program on the GPU (runtime/device/program.ts).
import type { Executable } from '../../compiler/compile.ts';
import type { Graph } from '../../compiler/ir/types.ts';
import type { GpuContext } from '../device/device.ts';
import { GpuProgram, type ProgramStats } from '../device/program.ts';
import { inputNames, type Executor, type ParamData } from './executor.ts';

export class GpuExecutor implements Executor {
  readonly backend = 'webgpu' as const;
  private readonly inputs: Set<string>;

  private constructor(readonly program: GpuProgram) {
    this.inputs = new Set(inputNames(program.graph));
  }

  /** Buffers follow the program's memory plan: persistent tensors alone, the rest shared by liveness. */
  static async create(gpu: GpuContext, program: Executable): Promise<GpuExecutor> {
    return new GpuExecutor(await GpuProgram.create(gpu, program));
  }

  get graph(): Graph {
    return this.program.graph;
  }
  get stats(): ProgramStats {
    return this.program.stats;
  }

  setParam(name: string, data: ParamData, offset?: number): void {
    this.program.setParam(name, data, offset);
  }
  getParam(name: string): Promise<Float32Array> {
    return this.program.getParam(name);
  }
  setState(name: string, data: Float32Array, offset?: number): void {
    this.program.setState(name, data, offset);
  }
  getState(name: string): Promise<Float32Array> {
    return this.program.getState(name);
  }
  setInput(name: string, data: Int32Array | Float32Array): void {
    // Inputs a graph does not read (e.g. "step" without dropout) are ignored, as in the interpreter.
    if (this.inputs.has(name)) this.program.setInput(name, data);
  }
  run(): void {
    this.program.run();
  }
  read(output: string): Promise<Float32Array | Int32Array> {
    return this.program.read(output);
  }
  check(): Promise<void> {
    return this.program.check();
  }
  async readGrad(param: string): Promise<Float32Array> {
    const id = this.graph.grads[param];
    if (id === undefined) throw new Error(`graph has no gradient for "${param}"`);
    return (await this.program.read(id)) as Float32Array;
  }
  destroy(): void {
    this.program.destroy();
  }
}
