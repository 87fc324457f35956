import { describe, expect, it } from 'vitest';
import { differentiate } from '../../../compiler/autodiff/differentiate.ts';
import { interpret } from '../../../compiler/ir/interp.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import type { OpAttrs } from '../../../compiler/ir/ops.ts';
import { tinyLlama } from './lora-graph.ts';

describe('differentiate', () => {
  it('gives gradients to adapters only, through frozen layers, matching finite differences', () => {
    const m = tinyLlama({ layers: 2 });
    const forwardSize = m.b.graph.nodes.length;
    differentiate(m.b.graph, m.loss);
    verifyGraph(m.b.graph);
    expect(Object.keys(m.b.graph.grads).sort()).toEqual(
      ['q_proj.lora_A', 'q_proj.lora_B', 'v_proj.lora_A', 'v_proj.lora_B'].flatMap((s) => [`layers.0.${s}.weight`, `layers.1.${s}.weight`]).sort(),
    );
    // No gradient node produces a frozen weight's gradient (a transA matmul shaped like a frozen weight).
    const frozenShapes = new Set(
      m.b.graph.nodes.filter((n) => n.op === 'param' && (n.attrs as OpAttrs['param']).role === 'frozen').map((n) => n.type.shape.join('x')),
    );
    const adapterShapes = new Set(Object.values(m.b.graph.grads).map((g) => m.b.graph.nodes[g]!.type.shape.join('x')));
    for (const n of m.b.graph.nodes.slice(forwardSize)) {
      if (n.op === 'matmul' && (n.attrs as OpAttrs['matmul']).transA) {
        const s = n.type.shape.join('x');
        expect(frozenShapes.has(s) && !adapterShapes.has(s), `%${n.id} ${s}`).toBe(false);
      }
      expect(['embedding_grad', 'rmsnorm_grad_w']).not.toContain(n.op);
    }
    const feeds = { params: m.params, inputs: m.inputs };
    const { grads } = interpret(m.b.graph, feeds, { precision: 'f64' });
    const lossOf = () => interpret(m.b.graph, feeds, { precision: 'f64' }).outputs['loss']![0]!;
    for (const name of ['layers.0.q_proj.lora_A.weight', 'layers.0.v_proj.lora_B.weight', 'layers.1.q_proj.lora_B.weight']) {
      const p = m.params[name]!;
      for (const i of [0, p.length - 1]) {
        const x0 = p[i]!;
        p[i] = x0 + 1e-5;
        const up = lossOf();
        p[i] = x0 - 1e-5;
        const down = lossOf();
        p[i] = x0;
        expect(grads[name]![i]).toBeCloseTo((up - down) / 2e-5, 8);
      }
    }
  });

  it('prunes input gradients below the lowest adapter (the embedding gets no gradient work)', () => {
    const m = tinyLlama();
    const before = m.b.graph.nodes.length;
    differentiate(m.b.graph, m.loss);
    const ops = m.b.graph.nodes.slice(before).map((n) => n.op);
    expect(ops).not.toContain('embedding_grad');
    // The first layer's input norm is below every adapter input, so its dx is never computed... but
    // the residual stream above it is: exactly one rmsnorm_grad per norm on the path to the adapters.
    expect(ops.filter((o) => o === 'rmsnorm_grad').length).toBe(2); // final norm and post-attention norm
  });

  it("an attention's gradients all read one attention_stats node of the same operands and forward output", () => {
    const m = tinyLlama({ layers: 2 });
    const before = m.b.graph.nodes.length;
    differentiate(m.b.graph, m.loss);
    const nodes = m.b.graph.nodes.slice(before);
    const stats = nodes.filter((n) => n.op === 'attention_stats');
    const grads = nodes.filter((n) => n.op === 'attention_grad');
    expect(stats.length).toBe(2); // one per layer
    expect(grads.length).toBeGreaterThan(stats.length);
    for (const g of grads) {
      const st = m.b.graph.nodes[g.inputs[4]!]!;
      expect(st.op, `%${g.id} reads %${st.id}`).toBe('attention_stats');
      expect(st.inputs.slice(0, 4)).toEqual(g.inputs.slice(0, 4));
      // The fifth input is the forward attention of the same q, k, v (rowDot = dO·O).
      const y = m.b.graph.nodes[st.inputs[4]!]!;
      expect(y.op).toBe('attention');
      expect(y.inputs).toEqual(st.inputs.slice(0, 3));
    }
  });

  it('a model with no trainable parameters gets no gradient nodes at all', () => {
    const m = tinyLlama({ lora: false });
    const before = m.b.graph.nodes.length;
    differentiate(m.b.graph, m.loss);
    expect(m.b.graph.nodes.length).toBe(before);
    expect(m.b.graph.grads).toEqual({});
  });

  it('an unused trainable parameter gets a zero gradient', () => {
    const m = tinyLlama({ lora: false });
    m.b.param('unused', [2, 2], 'trainable');
    differentiate(m.b.graph, m.loss);
    const g = m.b.graph.grads['unused']!;
    expect(m.b.graph.nodes[g]!.op).toBe('const');
  });
});
