// Leaves: values the runtime uploads (inputs), persistent parameters and state, and literals (the
// compiler's constants, uploaded once by the program). No kernel, no gradient rule (autodiff seeds
// parameter gradients itself), no interpreter kernel (interpret reads the feeds, or the literal's data).
import { shapeRules } from '../ir/ops.ts';
import type { LeafOp, OpTable } from './entry.ts';

export const leafOps: OpTable<LeafOp> = {
  input: { family: 'leaf', shape: shapeRules.input, grad: null, interp: null, emit: null },
  param: { family: 'leaf', shape: shapeRules.param, grad: null, interp: null, emit: null },
  state: { family: 'leaf', shape: shapeRules.state, grad: null, interp: null, emit: null },
  literal: { family: 'leaf', shape: shapeRules.literal, grad: null, interp: null, emit: null },
};
