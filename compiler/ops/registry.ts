// The op registry: one entry per IR op, grouped by kernel family, each naming the op's shape rule
// (compiler/ir/ops.ts), gradient rule (compiler/autodiff/rules), interpreter kernel
// (compiler/ir/interp) and WGSL emitter (compiler/emit). Autodiff, the interpreter and codegen
// dispatch through it; adding an op to OpAttrs without an entry here fails to typecheck.
//
// Imports go one way: the registry imports the phases' rule and kernel modules, and only the phase
// drivers (autodiff/differentiate.ts, ir/interp.ts, emit/index.ts) import the registry, never a
// module the registry imports. Shape inference stays inside the IR (ir/ops.ts) so that building a
// graph does not load the code generators.
import type { OpName } from '../ir/op-attrs.ts';
import { attentionOps } from './attention.ts';
import { elementwiseOps } from './elementwise.ts';
import type { OpEntry, OpFamily, OpTable } from './entry.ts';
import { indexingOps } from './indexing.ts';
import { leafOps } from './leaves.ts';
import { linalgOps } from './linalg.ts';
import { lossOps } from './loss.ts';
import { normOps } from './norm.ts';
import { optimizerOps } from './optimizer.ts';

export type { KernelEntry, LeafEntry, LeafOp, OpEntry, OpFamily, OpTable } from './entry.ts';

export const OPS: OpTable<OpName> = {
  ...leafOps,
  ...elementwiseOps,
  ...linalgOps,
  ...normOps,
  ...attentionOps,
  ...indexingOps,
  ...lossOps,
  ...optimizerOps,
};

export const OP_NAMES = Object.keys(OPS) as OpName[];

/** The entry of `op` (typed for that op). */
export function opEntry<K extends OpName>(op: K): OpEntry<K> {
  return OPS[op] as OpEntry<K>;
}

export function opFamily(op: OpName): OpFamily {
  return OPS[op].family;
}

/** Ops that run no kernel: their values are uploaded (inputs, parameters, state). */
export function isLeafOp(op: OpName): boolean {
  return OPS[op].family === 'leaf';
}
