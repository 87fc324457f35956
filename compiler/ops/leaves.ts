// Leaves: values the runtime uploads (inputs), and persistent parameters and state. No kernel, no
// gradient rule (autodiff seeds parameter gradients itself), no interpreter kernel (interpret reads
// the feeds).
import { shapeRules } from '../ir/ops.ts';
import type { LeafOp, OpTable } from './entry.ts';

export const leafOps: OpTable<LeafOp> = {
  input: { family: 'leaf', shape: shapeRules.input, grad: null, interp: null, emit: null },
  param: { family: 'leaf', shape: shapeRules.param, grad: null, interp: null, emit: null },
  state: { family: 'leaf', shape: shapeRules.state, grad: null, interp: null, emit: null },
};
