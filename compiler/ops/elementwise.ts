// Elementwise ops: fills, unary functions and their derivatives, broadcast binaries, scaling,
// 16-bit widening (cast), stop_gradient and dropout.
import * as grad from '../autodiff/rules/elementwise.ts';
import * as emit from '../emit/elementwise.ts';
import * as interp from '../ir/interp/elementwise.ts';
import { shapeRules } from '../ir/ops.ts';
import type { OpTable } from './entry.ts';

export type ElementwiseOp = 'const' | 'unary' | 'unary_grad' | 'add' | 'sub' | 'mul' | 'div' | 'scale' | 'cast' | 'stop_gradient' | 'dropout';

export const elementwiseOps: OpTable<ElementwiseOp> = {
  const: { family: 'elementwise', shape: shapeRules.const, grad: null, interp: interp.constant, emit: emit.emitConst },
  unary: { family: 'elementwise', shape: shapeRules.unary, grad: grad.unary, interp: interp.unary, emit: emit.emitUnary },
  unary_grad: { family: 'elementwise', shape: shapeRules.unary_grad, grad: null, interp: interp.unaryGrad, emit: emit.emitUnaryGrad },
  add: { family: 'elementwise', shape: shapeRules.add, grad: grad.add, interp: interp.add, emit: emit.emitBinary },
  sub: { family: 'elementwise', shape: shapeRules.sub, grad: grad.sub, interp: interp.sub, emit: emit.emitBinary },
  mul: { family: 'elementwise', shape: shapeRules.mul, grad: grad.mul, interp: interp.mul, emit: emit.emitBinary },
  div: { family: 'elementwise', shape: shapeRules.div, grad: grad.div, interp: interp.div, emit: emit.emitBinary },
  scale: { family: 'elementwise', shape: shapeRules.scale, grad: grad.scale, interp: interp.scale, emit: (v) => emit.emitScale(v, v.attrs.c) },
  // Inserted after autodiff (passes/storage.ts) in front of frozen 16-bit weights only: never differentiated.
  cast: { family: 'elementwise', shape: shapeRules.cast, grad: null, interp: interp.cast, emit: emit.emitCast },
  stop_gradient: { family: 'elementwise', shape: shapeRules.stop_gradient, grad: grad.stopGradient, interp: interp.identity, emit: (v) => emit.emitScale(v, 1) },
  dropout: { family: 'elementwise', shape: shapeRules.dropout, grad: grad.dropout, interp: interp.dropout, emit: (v, c) => emit.emitDropout(v, c.hasStep) },
};
