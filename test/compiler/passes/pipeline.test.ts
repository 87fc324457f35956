// Fused vs unfused on a LoRA model (forward + backward + AdamW), with the verifier after every pass.
import { describe, expect, it } from 'vitest';
import { differentiate } from '../../../compiler/autodiff/differentiate.ts';
import { interpret } from '../../../compiler/ir/interp.ts';
import type { OpAttrs } from '../../../compiler/ir/ops.ts';
import { appendAdamW } from '../../../compiler/optim/adamw.ts';
import { pipeline } from '../../../compiler/passes/pipeline.ts';
import { tinyLlama } from '../autodiff/lora-graph.ts';

describe('pipeline', () => {
  // Forward: q and v per layer fuse (4). Backward: layer 0's input needs no gradient; in layer 1 the
  // summed dx of q, k and v re-associates into two lowrank_matmul (6). With LoRA dropout the ds·A
  // terms pass through the mask first, leaving only a narrow-by-wide projection pair (5).
  it.each([
    [0, 6],
    [0.1, 5],
  ])('fused and unfused LoRA graphs agree on loss, logits, grads and the AdamW step (dropout %s)', (dropout, expected) => {
    const m = tinyLlama({ layers: 2, dropout });
    differentiate(m.b.graph, m.loss);
    appendAdamW(m.b.graph, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 });
    const names: string[] = [];
    const plain = pipeline(m.b.graph, { fuse: false, verify: true });
    const fused = pipeline(m.b.graph, { fuse: true, verify: true, trace: (n) => names.push(n) });
    expect(names).toEqual(['dce', 'cse', 'fuse-lowrank', 'fuse-elementwise', 'dce']);
    const lowrank = fused.nodes.filter((n) => n.op === 'lowrank_matmul');
    expect(lowrank.length).toBe(expected);
    expect(fused.nodes.length).toBeLessThan(plain.nodes.length);
    const runWith = (g: typeof plain) => {
      const params = Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Float64Array.from(v)]));
      const state: Record<string, Float64Array> = {};
      for (const n of g.nodes) if (n.op === 'state') state[(n.attrs as OpAttrs['state']).name] = new Float64Array(n.type.shape.reduce((a, b) => a * b, 1));
      const inputs = { ...m.inputs, step: Int32Array.of(3), optim: Float64Array.of(1e-2, 0.1, 0.001, 0) };
      const r = interpret(g, { params, state, inputs }, { precision: 'f64' });
      return { r, params };
    };
    const a = runWith(plain);
    const b = runWith(fused);
    expect(b.r.outputs['loss']![0]).toBeCloseTo(a.r.outputs['loss']![0]!, 12);
    a.r.outputs['logits']!.forEach((v, i) => expect(b.r.outputs['logits']![i]).toBeCloseTo(v, 12));
    for (const [k, g] of Object.entries(a.r.grads)) g.forEach((v, i) => expect(b.r.grads[k]![i], k).toBeCloseTo(v, 12));
    for (const [k, p] of Object.entries(a.params)) p.forEach((v, i) => expect(b.params[k]![i], k).toBeCloseTo(v, 12));
  });
});
