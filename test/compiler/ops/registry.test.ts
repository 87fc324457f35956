// The op registry: one entry per op of the IR, each reaching its shape rule, gradient, interpreter
// kernel and emitter. Completeness is a typecheck (the @ts-expect-error lines below fail `tsc` if an
// incomplete entry ever typechecks); these tests pin down what the entries hold.
import { describe, expect, it } from 'vitest';
import { shapeRules } from '../../../compiler/ir/ops.ts';
import { sumsq } from '../../../compiler/ir/interp/norm.ts';
import { isLeafOp, OP_NAMES, OPS, opFamily, type KernelEntry } from '../../../compiler/ops/registry.ts';
import { opZoo } from '../emit/zoo.ts';

describe('op registry', () => {
  it('has one entry per op, with the IR shape rule of that op', () => {
    expect(new Set(OP_NAMES)).toEqual(new Set(Object.keys(shapeRules)));
    for (const op of OP_NAMES) expect(OPS[op].shape, op).toBe(shapeRules[op]);
  });

  it('leaves have no kernel; every other op has an interpreter kernel and an emitter', () => {
    expect(OP_NAMES.filter(isLeafOp).sort()).toEqual(['input', 'literal', 'param', 'state']);
    for (const op of OP_NAMES) {
      const e = OPS[op];
      if (isLeafOp(op)) expect([e.grad, e.interp, e.emit], op).toEqual([null, null, null]);
      else expect([typeof e.interp, typeof e.emit], op).toEqual(['function', 'function']);
    }
  });

  it('groups ops by kernel family, and the zoo graph covers every family', () => {
    expect(opFamily('matmul')).toBe('linalg');
    expect(opFamily('rmsnorm_grad_w')).toBe('norm');
    expect(opFamily('cache_update')).toBe('attention');
    expect(opFamily('adamw')).toBe('optimizer');
    const families = new Set(OP_NAMES.map(opFamily));
    expect(families).toEqual(new Set(['leaf', 'elementwise', 'linalg', 'norm', 'attention', 'indexing', 'loss', 'optimizer']));
    expect(new Set(opZoo().nodes.map((n) => opFamily(n.op)))).toEqual(families);
  });

  it('an entry missing its emitter or its gradient decision does not typecheck', () => {
    // @ts-expect-error no emit
    const noEmit: KernelEntry<'sumsq'> = { family: 'norm', shape: shapeRules.sumsq, grad: null, interp: sumsq };
    // @ts-expect-error no grad (an op without a gradient says null)
    const noGrad: KernelEntry<'sumsq'> = { family: 'norm', shape: shapeRules.sumsq, interp: sumsq, emit: OPS.sumsq.emit };
    expect([noEmit, noGrad]).toHaveLength(2);
  });
});
