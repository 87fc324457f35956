// Runs a compiled program (compiler/compile.ts's Executable: graph, memory plan, kernels, target) on
// the GPU. It compiles nothing: everything that can be decided once is done in `create`, from the
// program's emitted kernels and plan: pipelines fetched from the per-device cache, the plan's
// buffers allocated under the plan's categories, uniforms written and bind groups built. `run` then
// only records every dispatch into one compute pass of one command encoder and submits once;
// nothing is read back unless `read` asks for it.
import type { Graph, Node } from '../../compiler/ir/types.ts';
import { dtypeBytes, isHalf, numel } from '../../compiler/ir/types.ts';
import { bytesOf } from '../../compiler/plan/memory-plan.ts';
import { DeviceLimitError } from '../../compiler/errors.ts';
import type { MemoryCategory, MemoryPlan } from '../../compiler/plan/types.ts';
import { MEMORY_CATEGORIES } from '../../compiler/plan/memory-plan.ts';
import { foldWorkgroups, type Launch, type NodeKernels } from '../../compiler/emit/index.ts';
import type { Executable } from '../../compiler/compile.ts';
import { LIMIT_NAMES, type Target } from '../../compiler/target.ts';
import type { GpuContext } from './device.ts';
import { joinOutputParts } from '../../compiler/ir/output-parts.ts';
import { getPipeline, pipelinesCreated } from './pipeline-cache.ts';
import { BufferPool } from './buffer-pool.ts';
import { ScopedWork, watchOf } from './errors.ts';
import { deviceBytes, deviceValues, type ParamData } from './param-data.ts';

/** What only the executor allocates, beside the plan's buffers: kernel temporaries, uniforms, staging. */
export const EXECUTOR_CATEGORIES = ['kernel_scratch', 'uniforms', 'readback'] as const;

/** Plan categories (decided by the plan's memoryCategory), plus the executor's own. */
export type ByteCategory = MemoryCategory | (typeof EXECUTOR_CATEGORIES)[number];

export interface ProgramStats {
  /** Kernel dispatches recorded by one run. */
  dispatchesPerRun: number;
  /** Distinct kernels (pipeline keys) the program uses. */
  kernels: number;
  /** Pipelines compiled by create (0 when the device cache already had them all). */
  pipelinesCreatedAtCreate: number;
  /** Pipelines compiled by the last run: 0 by construction (checked, not assumed). */
  pipelinesCreatedLastRun: number;
  runs: number;
  /** Bytes allocated by category; readback is the pool's current staging total. */
  bytes: Record<ByteCategory, number>;
  /** Peak GPU bytes of the whole program: all its buffers plus the readback pool's peak. */
  peakBytes: number;
}

/** A launch of a node, with its slice of the uniform buffer. */
interface Launched {
  node: Node;
  launch: Launch;
  offset: number;
}

interface Step {
  node: number;
  /** "<key> %<node> (<label>)": the debug group around its dispatch, which driver messages quote. */
  debugName: string;
  launch: Launch;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  grid: [number, number, number];
}

/**
 * A program compiled for limits the device does not have would fail in validation (or silently, in
 * a kernel): refuse it by name. Alignments must be multiples of the device's; maxima within its.
 */
function checkTargetFits(target: Target, gpu: GpuContext): void {
  for (const name of LIMIT_NAMES) {
    const want = target.limits[name];
    const have = gpu.limits[name];
    const fits = name === 'minUniformBufferOffsetAlignment' ? want % have === 0 : want <= have;
    if (!fits) throw new Error(`program: compiled for ${name} ${want}, but ${gpu.adapterName} has ${have}; compile for targetFor(gpu)`);
  }
}

/** An i32 input's bytes, checked against the node. */
function intBytes(node: Node, data: Int32Array): Uint8Array {
  const n = numel(node.type.shape);
  if (data.length !== n) throw new Error(`program: ${node.label ?? node.op} wants ${n} values, got ${data.length}`);
  if (node.type.dtype !== 'i32') throw new Error(`program: ${node.label ?? node.op} is ${node.type.dtype}, got Int32Array`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

// A function, not a constant: in Node the GPU* globals exist only once createGpu has loaded Dawn.
const storageUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
const align = (n: number, a: number) => Math.ceil(n / a) * a;
export class GpuProgram {
  private readonly buffers = new Map<number, GPUBuffer>(); // node id -> buffer
  private readonly owned: GPUBuffer[] = [];
  private readonly steps: Step[] = [];
  private readonly pool: BufferPool;
  private readonly byName = { input: new Map<string, Node>(), param: new Map<string, Node>(), state: new Map<string, Node>() };
  private readonly bytes = Object.fromEntries([...MEMORY_CATEGORIES, ...EXECUTOR_CATEGORIES].map((k) => [k, 0])) as Record<ByteCategory, number>;
  private pipelinesAtCreate = 0;
  private pipelinesLastRun = 0;
  private runs = 0;
  private kernelKeys = new Set<string>();
  /** Nodes whose planned buffer is shared with other tenants: their values do not survive a run. */
  private readonly transient = new Set<number>();
  private readonly watch: ScopedWork;
  private scratch: GPUBuffer[] = [];
  private uniformBuffer: GPUBuffer | undefined;

  readonly graph: Graph;
  readonly plan: MemoryPlan;
  readonly kernels: NodeKernels;
  readonly target: Target;

  private constructor(readonly gpu: GpuContext, program: Executable) {
    ({ graph: this.graph, plan: this.plan, kernels: this.kernels, target: this.target } = program);
    const graph = this.graph;
    checkTargetFits(this.target, gpu);
    this.watch = new ScopedWork(watchOf(gpu.device));
    if (this.kernels.length !== graph.nodes.length) throw new Error(`program: ${this.kernels.length} kernel entries for ${graph.nodes.length} nodes`);
    this.pool = new BufferPool(gpu.device);
    for (const node of graph.nodes) {
      if (node.op === 'input' || node.op === 'param' || node.op === 'state') {
        this.byName[node.op].set((node.attrs as { name: string }).name, node);
      }
    }
  }

  /** Builds everything a run needs from a compiled program (compile, or compileGraph for hand-built graphs). */
  static async create(gpu: GpuContext, program: Executable): Promise<GpuProgram> {
    const p = new GpuProgram(gpu, program);
    try {
      await p.build();
      // Buffers, bind groups and uniforms were created inside error scopes: fail here, naming them.
      await p.watch.check();
    } catch (err) {
      p.destroy();
      throw err;
    }
    return p;
  }

  private allocate(size: number, category: ByteCategory, label: string): GPUBuffer {
    // The compiler checked the plan against the target (plan/limits.ts); this guards hand-made plans.
    const max = this.gpu.limits.maxBufferSize;
    if (size > max) throw new DeviceLimitError(`buffer "${label}"`, size, 'maxBufferSize', max, 'compile for targetFor(gpu), which checks every value against the limits');
    const buffer = this.gpu.device.createBuffer({ size, usage: storageUsage(), label });
    this.owned.push(buffer);
    this.bytes[category] += size;
    return buffer;
  }

  private async build(): Promise<void> {
    const launches = this.watch.scoped('creating the buffers of a program', () => this.allocateAll());
    const device = this.gpu.device;
    const before = pipelinesCreated(device);
    // Pipelines compile in parallel; a kernel that fails names its key (pipeline-cache.ts).
    const pipelines = await this.watch.scopedAsync('compiling kernels', () => Promise.all(launches.map(({ launch }) => getPipeline(device, launch))));
    this.watch.scoped('creating bind groups', () => this.bindAll(launches, pipelines));
    this.pipelinesAtCreate = pipelinesCreated(device) - before;
  }

  /** Binding size of a node's buffer: the node's own bytes (a pooled buffer may be larger than any one binding allows). */
  private bindingSize(id: number, buffer: GPUBuffer): number {
    const node = this.graph.nodes[id]!;
    return Math.min(buffer.size, bytesOf(node));
  }

  private allocateAll(): Launched[] {
    const { device } = this.gpu;
    const graph = this.graph;
    const kernels = this.kernels;
    const plan = this.plan;
    const order = plan.schedule;

    // Node buffers: the plan's, under the plan's categories. Buffers shared by several tenants hold
    // values that do not survive a run. In-place kernels (cache_update) write their input's buffer,
    // which the plan must have given them too.
    const planned = plan.buffers.map((b) => this.allocate(Math.max(b.size, 16), b.category, b.label));
    const tenants = new Map<number, number>();
    for (const [node, id] of plan.assignment) {
      this.buffers.set(node, planned[id]!);
      tenants.set(id, (tenants.get(id) ?? 0) + 1);
    }
    for (const [node, id] of plan.assignment) {
      if (!plan.buffers[id]!.persistent && tenants.get(id)! > 1) this.transient.add(node);
    }
    for (const node of graph.nodes) {
      const alias = kernels[node.id]?.aliasInput;
      if (alias !== undefined && plan.assignment.get(node.id) !== plan.assignment.get(node.inputs[alias]!)) {
        throw new Error(`program: %${node.id} ${node.op} writes its input ${alias} in place, but the plan gave it another buffer`);
      }
      // adamw's [] placeholder is never written or read: it gets no buffer.
      if (!this.buffers.has(node.id) && node.op !== 'adamw') throw new Error(`program: the plan has no buffer for %${node.id} ${node.op}`);
    }
    // Literals (the compiler's constants): uploaded once, never written again.
    for (const node of graph.nodes) {
      if (node.op === 'literal') this.write(node, Float32Array.from((node.attrs as { data: number[] }).data));
    }

    // Scratch slots are shared by all nodes: dispatches run in order within the pass.
    const slotSizes: number[] = [];
    for (const l of kernels) l?.scratch.forEach((s, i) => (slotSizes[i] = Math.max(slotSizes[i] ?? 16, align(s, 16))));
    this.scratch = slotSizes.map((s, i) => this.allocate(s, 'kernel_scratch', `kernel scratch ${i}`));

    // Uniforms: one buffer, one aligned slice per launch.
    const uAlign = this.target.limits.minUniformBufferOffsetAlignment;
    const launches: Launched[] = [];
    let uBytes = 0;
    for (const id of order) {
      const node = graph.nodes[id]!;
      for (const launch of kernels[id]?.launches ?? []) {
        launches.push({ node, launch, offset: uBytes });
        uBytes += align(Math.max(launch.uniforms.length * 4, 16), uAlign);
      }
    }
    const uniformBuffer = this.gpu.device.createBuffer({ size: Math.max(uBytes, 16), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'uniforms' });
    this.owned.push(uniformBuffer);
    this.uniformBuffer = uniformBuffer;
    this.bytes.uniforms += Math.max(uBytes, 16);
    const uData = new ArrayBuffer(Math.max(uBytes, 16));
    for (const { launch, offset } of launches) {
      const view = new DataView(uData, offset);
      launch.uniforms.forEach(([, type, value], i) => {
        if (type === 'f32') view.setFloat32(i * 4, value, true);
        else if (type === 'i32') view.setInt32(i * 4, value, true);
        else view.setUint32(i * 4, value, true);
      });
    }
    device.queue.writeBuffer(uniformBuffer, 0, uData);
    return launches;
  }

  /** One bind group per launch, built once: each binding sees exactly its tensor's bytes. */
  private bindAll(launches: Launched[], pipelines: { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }[]): void {
    const { device } = this.gpu;
    const maxDim = this.target.limits.maxComputeWorkgroupsPerDimension;
    const maxBinding = this.gpu.limits.maxStorageBufferBindingSize;
    launches.forEach(({ node, launch, offset }, i) => {
      const entries: GPUBindGroupEntry[] = launch.bindings.map((b, binding) => {
        let id: number | undefined;
        let buffer: GPUBuffer | undefined;
        switch (b.ref.kind) {
          case 'input': id = node.inputs[b.ref.index]!; break;
          case 'output': id = node.id; break;
          case 'scratch': buffer = this.scratch[b.ref.slot]; break;
          case 'named_input': id = this.byName.input.get(b.ref.name)?.id; break;
        }
        if (id !== undefined) buffer = this.buffers.get(id);
        if (!buffer) throw new Error(`program: no buffer for binding ${b.name} of %${node.id} ${node.op}`);
        const size = id === undefined ? buffer.size : this.bindingSize(id, buffer);
        if (size > maxBinding) throw new DeviceLimitError(`binding ${b.name} of kernel ${launch.key} (%${node.id} ${node.op})`, size, 'maxStorageBufferBindingSize', maxBinding, 'compile for targetFor(gpu), which splits or refuses such tensors');
        return { binding, resource: { buffer, size } };
      });
      entries.push({ binding: launch.bindings.length, resource: { buffer: this.uniformBuffer!, offset, size: Math.max(launch.uniforms.length * 4, 16) } });
      const pipe = pipelines[i]!;
      this.kernelKeys.add(launch.key);
      this.steps.push({
        node: node.id,
        debugName: `${launch.key} %${node.id}${node.label ? ` (${node.label})` : ''}`,
        launch,
        pipeline: pipe.pipeline,
        bindGroup: device.createBindGroup({ label: `${launch.key} %${node.id}`, layout: pipe.layout, entries }),
        grid: typeof launch.workgroups === 'number' ? foldWorkgroups(launch.workgroups, maxDim) : launch.workgroups,
      });
    });
  }

  private leaf(kind: 'input' | 'param' | 'state', name: string): Node {
    const node = this.byName[kind].get(name);
    if (!node) throw new Error(`program: the graph has no ${kind} named "${name}" (has: ${[...this.byName[kind].keys()].join(', ')})`);
    return node;
  }

  private write(node: Node, data: ParamData | Int32Array): void {
    const label = node.label ?? node.op;
    const bytes = data instanceof Int32Array ? intBytes(node, data) : deviceBytes(data, node.type, label);
    this.watch.scoped(`writing ${label}`, () => this.gpu.device.queue.writeBuffer(this.buffers.get(node.id)!, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /** Writes `data` into an f32 leaf from element `offset` on (one adapter slot, one KV-cache row); the rest is unchanged. */
  private writeAt(node: Node, data: Float32Array, offset: number): void {
    const n = numel(node.type.shape);
    const label = node.label ?? node.op;
    if (node.type.dtype !== 'f32') throw new Error(`program: ${label} is ${node.type.dtype}; part of it cannot be written`);
    if (!(Number.isInteger(offset) && offset >= 0 && offset + data.length <= n)) throw new Error(`program: ${label} has ${n} values; cannot write ${data.length} from ${offset}`);
    this.watch.scoped(`writing part of ${label}`, () => this.gpu.device.queue.writeBuffer(this.buffers.get(node.id)!, offset * 4, data.buffer, data.byteOffset, data.length * 4));
  }

  setInput(name: string, data: Float32Array | Int32Array): void {
    this.write(this.leaf('input', name), data);
  }
  /**
   * A parameter's values: f32 numbers, or a tensor as its file stores it (F32, F16, BF16; 16-bit
   * weights upload as they are). With `offset`, f32 values written from that element on.
   */
  setParam(name: string, data: ParamData, offset?: number): void {
    const node = this.leaf('param', name);
    if (offset === undefined) this.write(node, data);
    else if (data instanceof Float32Array) this.writeAt(node, data, offset);
    else throw new Error(`program: a partial write of ${name} takes f32 values`);
  }
  setState(name: string, data: Float32Array, offset?: number): void {
    const node = this.leaf('state', name);
    if (offset === undefined) this.write(node, data);
    else this.writeAt(node, data, offset);
  }

  /**
   * Copies `count` values of another program's state `name` (from element `from`) into this
   * program's state of the same name at element `to`, on the device: both programs must share the
   * GPU device (a prefill program handing its KV cache to a decoding program).
   */
  copyStateFrom(src: GpuProgram, name: string, o: { from: number; to: number; count: number }): void {
    if (src.gpu.device !== this.gpu.device) throw new Error('program: copyStateFrom needs both programs on one device');
    const from = src.leaf('state', name);
    const to = this.leaf('state', name);
    const [nf, nt] = [numel(from.type.shape), numel(to.type.shape)];
    if (o.from < 0 || o.to < 0 || o.from + o.count > nf || o.to + o.count > nt) {
      throw new Error(`program: cannot copy ${o.count} values of state "${name}" from ${o.from} (of ${nf}) to ${o.to} (of ${nt})`);
    }
    this.watch.scoped(`copying state ${name}`, () => {
      const encoder = this.gpu.device.createCommandEncoder({ label: `copy ${name}` });
      encoder.copyBufferToBuffer(src.buffers.get(from.id)!, o.from * 4, this.buffers.get(to.id)!, o.to * 4, o.count * 4);
      this.gpu.device.queue.submit([encoder.finish()]);
    });
  }
  getParam(name: string): Promise<Float32Array> {
    return this.read(this.leaf('param', name).id) as Promise<Float32Array>;
  }
  getState(name: string): Promise<Float32Array> {
    return this.read(this.leaf('state', name).id) as Promise<Float32Array>;
  }

  /**
   * Waits for the work submitted so far and throws a DeviceError if any of it failed (or the device
   * was lost). Reads do this themselves; call it before writing anything the device computed.
   */
  check(): Promise<void> {
    return this.watch.check();
  }

  /** Records every dispatch into one compute pass and submits once. */
  run(): void {
    const { device } = this.gpu;
    const before = pipelinesCreated(device);
    this.watch.scoped(`running step ${this.runs + 1} of a program of ${this.steps.length} kernels`, () => this.submit(this.steps, 'rankfold run'));
    this.runs++;
    this.pipelinesLastRun = pipelinesCreated(device) - before;
  }

  /**
   * One compute pass over `steps`, submitted. Each dispatch sits in a debug group named after its
   * kernel and node, so a driver message about a dispatch names the kernel.
   */
  private submit(steps: readonly Step[], label: string): void {
    const encoder = this.gpu.device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label });
    for (const s of steps) {
      pass.pushDebugGroup(s.debugName);
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, s.bindGroup);
      pass.dispatchWorkgroups(s.grid[0], s.grid[1], s.grid[2]);
      pass.popDebugGroup();
    }
    pass.end();
    this.gpu.device.queue.submit([encoder.finish()]);
    this.pool.submitted();
  }

  /**
   * Records only the dispatches `from..to-1` (run order) and submits them: for profiling one kernel
   * at a time (runtime/device/profile.ts). Earlier dispatches must have run for the inputs to be valid.
   */
  runSteps(from: number, to = from + 1): void {
    const steps = this.steps.slice(from, to);
    this.watch.scoped(`running kernels ${steps.map((s) => `${s.launch.key} (%${s.node})`).join(', ')}`, () => this.submit(steps, 'rankfold steps'));
  }

  /** Reads back one tensor: a graph output by name (one held in parts is joined), or any node by id. */
  async read(which: string | number): Promise<Float32Array | Int32Array> {
    if (typeof which === 'string' && this.graph.outputParts?.[which]) return joinOutputParts(this.graph, which, (part) => this.read(part));
    const id = typeof which === 'number' ? which : this.graph.outputs[which];
    if (id === undefined) throw new Error(`program: no output named "${which}" (has: ${Object.keys(this.graph.outputs).join(', ')})`);
    const node = this.graph.nodes[id]!;
    if (this.transient.has(id)) {
      throw new Error(`program: %${id} ${node.label ?? node.op} shares a planned buffer with later values; read outputs, gradients, params or state`);
    }
    if (!this.buffers.has(id)) throw new Error(`program: %${id} ${node.op} has no buffer`);
    const n = numel(node.type.shape);
    const size = align(Math.max(n * dtypeBytes(node.type.dtype), 4), 4);
    const staging = this.pool.acquire(size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'readback');
    const label = node.label ?? `%${id} ${node.op}`;
    let bytes: ArrayBuffer;
    try {
      this.watch.scoped(`reading ${label}`, () => {
        const encoder = this.gpu.device.createCommandEncoder({ label: `read ${label}` });
        encoder.copyBufferToBuffer(this.buffers.get(id)!, 0, staging, 0, size);
        this.gpu.device.queue.submit([encoder.finish()]);
      });
      try {
        await staging.mapAsync(GPUMapMode.READ, 0, size);
      } catch (err) {
        // A failed copy or a lost device rejects the map: the check below names the cause.
        await this.watch.check();
        throw err;
      }
      bytes = staging.getMappedRange(0, size).slice(0);
      staging.unmap();
    } finally {
      this.pool.release(staging);
      this.pool.submitted();
    }
    // Everything submitted before the copy has finished: any failure of it is known now. Values
    // from a failed command buffer (zeros) never leave this function.
    await this.watch.check();
    if (node.type.dtype === 'i32') return new Int32Array(bytes, 0, n);
    return isHalf(node.type.dtype) ? deviceValues(new Uint8Array(bytes, 0, n * 2), node.type.dtype) : new Float32Array(bytes, 0, n);
  }

  /** The GPU buffer holding a node's result (for callers that chain programs). */
  bufferOf(id: number): GPUBuffer | undefined {
    return this.buffers.get(id);
  }

  /** Kernel launches in run order, with their keys (for benchmarks and debugging). */
  get launches(): { node: number; key: string; grid: [number, number, number] }[] {
    return this.steps.map((s) => ({ node: s.node, key: s.launch.key, grid: s.grid }));
  }

  get stats(): ProgramStats {
    const bytes = { ...this.bytes, readback: this.pool.allocatedBytes };
    const own = Object.entries(this.bytes).reduce((a, [, v]) => a + v, 0);
    return {
      dispatchesPerRun: this.steps.length,
      kernels: this.kernelKeys.size,
      pipelinesCreatedAtCreate: this.pipelinesAtCreate,
      pipelinesCreatedLastRun: this.pipelinesLastRun,
      runs: this.runs,
      bytes,
      peakBytes: own + this.pool.peakBytes,
    };
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.pool.destroy();
  }
}
