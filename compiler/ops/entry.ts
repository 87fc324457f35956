// The shape of one op's registry entry: everything the compiler knows how to do with the op, each
// in its phase's folder and reached from here. Tables are typed per op name, so an op missing from
// the registry, or an entry missing its shape rule, gradient (or an explicit null), interpreter
// kernel or WGSL emitter, fails to typecheck.
import type { GradRule } from '../autodiff/rule.ts';
import type { Emitter } from '../emit/kernel.ts';
import type { Kernel } from '../ir/interp/common.ts';
import type { OpAttrs, OpName } from '../ir/op-attrs.ts';
import type { ShapeRule } from '../ir/ops.ts';

/** Kernel families, one registry file each (compiler/ops/<family>.ts). */
export type OpFamily = 'leaf' | 'elementwise' | 'linalg' | 'norm' | 'attention' | 'indexing' | 'loss' | 'optimizer';

/** Ops without inputs or kernels: their values are uploaded (inputs, parameters, state, compiler-made literals). */
export type LeafOp = 'input' | 'param' | 'state' | 'literal';

export interface LeafEntry<K extends OpName> {
  family: 'leaf';
  /** compiler/ir/ops.ts */
  shape: ShapeRule<K>;
  grad: null;
  interp: null;
  emit: null;
}

export interface KernelEntry<K extends OpName> {
  family: Exclude<OpFamily, 'leaf'>;
  /** compiler/ir/ops.ts */
  shape: ShapeRule<K>;
  /** compiler/autodiff/rules; null where gradients never flow (backward ops, optimizer, KV cache). */
  grad: GradRule<K> | null;
  /** compiler/ir/interp: the executable definition and the oracle of the WGSL kernel. */
  interp: Kernel<OpAttrs[K]>;
  /** compiler/emit */
  emit: Emitter<OpAttrs[K]>;
}

export type OpEntry<K extends OpName> = K extends LeafOp ? LeafEntry<K> : KernelEntry<K>;

export type OpTable<K extends OpName> = { [P in K]: OpEntry<P> };
