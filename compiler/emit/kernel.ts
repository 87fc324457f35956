// The shape of an emitted op: one or more kernel launches, each a WGSL module plus the buffers it
// binds and the sizes it reads from a uniform. Shader text depends only on the op and on attrs that
// change code (transposes, fn, hasBias), never on sizes, so `key` names a pipeline reusable across
// graphs and shapes; sizes and numeric attrs (eps, scale, p) travel in the uniform.
import type { DType, Shape } from '../ir/tensor.ts';
import type { Target } from '../target.ts';
import type { OpName } from '../ir/op-attrs.ts';

/** What a binding refers to, resolved by the executor to a GPU buffer. */
export type BufferRef =
  | { kind: 'input'; index: number }
  | { kind: 'output' }
  /** Per-node temporary (row statistics, partial sums); slots are shared by all nodes of a program. */
  | { kind: 'scratch'; slot: number }
  /** A graph input by name (dropout reads "step"). */
  | { kind: 'named_input'; name: string };

/** Element types of bindings: f32 and i32 values, and the forms 16-bit storage is bound as (compiler/emit/storage.ts). */
export type Elem = 'f32' | 'i32' | 'u32' | 'vec4f' | 'vec2u' | 'f16' | 'vec4h';

export interface Binding {
  name: string;
  ref: BufferRef;
  access: 'read' | 'read_write';
  elem: Elem;
}

export type UniformType = 'u32' | 'i32' | 'f32';
export type Uniform = [name: string, type: UniformType, value: number];

export interface Launch {
  key: string;
  code: string;
  bindings: Binding[];
  /** Always at least one field; the last binding of the module is `u`. */
  uniforms: Uniform[];
  /** Workgroup count: a linear count (folded to 2-D past 65535 by the executor) or an explicit grid. */
  workgroups: number | [number, number, number];
}

export interface EmittedOp {
  launches: Launch[];
  /** Bytes needed per scratch slot. */
  scratch: number[];
  /** The result is written into input `aliasInput`'s buffer (in-place ops such as cache_update). */
  aliasInput?: number;
}

/** Everything an emitter needs to know about one node, independent of any graph. */
export interface OpView<A = unknown> {
  op: OpName;
  attrs: A;
  inputs: { dtype: DType; shape: Shape }[];
  out: { dtype: DType; shape: Shape };
}

/** What an emitter may depend on beyond the op itself. */
export interface EmitContext {
  target: Target;
  /** Whether the graph has an i32 input named "step" (dropout reads it; without one, step 0). */
  hasStep: boolean;
}

/** One op's WGSL emitter (compiler/ops/registry.ts holds one per op). */
export type Emitter<A> = (v: OpView<A>, ctx: EmitContext) => EmittedOp;

export const MAX_WORKGROUPS_PER_DIM = 65535;

/** Folds a linear workgroup count to a grid no dimension of which exceeds the WebGPU limit. */
export function foldWorkgroups(n: number, limit = MAX_WORKGROUPS_PER_DIM): [number, number, number] {
  if (n <= limit) return [Math.max(n, 1), 1, 1];
  const y = Math.ceil(n / limit);
  if (y > limit) throw new Error(`${n} workgroups exceed ${limit}² (2-D dispatch limit)`);
  return [Math.ceil(n / y), y, 1];
}
