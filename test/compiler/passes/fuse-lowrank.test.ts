import { describe, expect, it } from 'vitest';
import { GraphBuilder, type Value } from '../../../compiler/ir/builder.ts';
import { interpret } from '../../../compiler/ir/interp.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import type { OpAttrs } from '../../../compiler/ir/ops.ts';
import type { Graph } from '../../../compiler/ir/types.ts';
import { dce } from '../../../compiler/passes/dce.ts';
import { fuseLowrank } from '../../../compiler/passes/fuse-lowrank.ts';
import { randn, rng } from '../autodiff/gradcheck.ts';

type Form = (b: GraphBuilder, s: Value, l: Value, c: number) => Value;
const forms: Record<string, Form> = {
  'scale(matmul(s, L))': (b, s, l, c) => b.scale(b.matmul(s, l, true), c),
  'matmul(scale(s), L)': (b, s, l, c) => b.matmul(b.scale(s, c), l, true),
  'matmul(s, L)': (b, s, l) => b.matmul(s, l, true),
};

function loraLayer(form: Form, options: { swap?: boolean; bias?: 'before' | 'after'; conv1d?: boolean; rank?: number } = {}) {
  const [K, N, r] = [6, 5, options.rank ?? 2];
  const b = new GraphBuilder();
  const x = b.input('x', 'f32', [2, 3, K]);
  const w = b.param('w', options.conv1d ? [K, N] : [N, K], 'frozen');
  const a = b.param('a', [r, K], 'adapter');
  const bb = b.param('b', [N, r], 'adapter');
  const bias = b.param('bias', [N], 'frozen');
  let full = b.matmul(x, w, !options.conv1d);
  if (options.bias === 'before') full = b.add(full, bias);
  const low = form(b, b.matmul(x, a, true), bb, 2);
  let y = options.swap ? b.add(low, full) : b.add(full, low);
  if (options.bias === 'after') y = b.add(y, bias);
  b.output('y', y);
  return b.graph;
}

function run(g: Graph): Float64Array {
  const r = rng(3);
  const shapes: Record<string, number[]> = {};
  for (const n of g.nodes) if (n.op === 'param' || n.op === 'input') shapes[(n.attrs as OpAttrs['param']).name] = [...n.type.shape];
  const feed = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, randn(s, r)]));
  return interpret(g, { inputs: { x: feed['x']! }, params: feed }, { precision: 'f64' }).outputs['y'] as Float64Array;
}

const ops = (g: Graph) => g.nodes.map((n) => n.op);

describe('fuse-lowrank', () => {
  for (const [name, form] of Object.entries(forms)) {
    for (const swap of [false, true]) {
      it(`fuses add(matmul(x, W), ${name})${swap ? ' with operands swapped' : ''}`, () => {
        const g = loraLayer(form, { swap });
        const fused = dce(fuseLowrank(g));
        verifyGraph(fused);
        const lr = fused.nodes.filter((n) => n.op === 'lowrank_matmul');
        expect(lr.length).toBe(1);
        expect((lr[0]!.attrs as OpAttrs['lowrank_matmul']).scale).toBe(name === 'matmul(s, L)' ? 1 : 2);
        expect(ops(fused)).not.toContain('add');
        const [a, c] = [run(g), run(fused)];
        a.forEach((v, i) => expect(c[i]).toBeCloseTo(v, 12));
      });
    }
  }

  for (const where of ['before', 'after'] as const) {
    it(`folds a bias added ${where} the adapter (Conv1D storage)`, () => {
      const g = loraLayer(forms['scale(matmul(s, L))']!, { bias: where, conv1d: true });
      const fused = dce(fuseLowrank(g));
      verifyGraph(fused);
      const lr = fused.nodes.find((n) => n.op === 'lowrank_matmul')!;
      expect(lr.attrs).toEqual({ transW: false, transL: true, scale: 2, hasBias: true });
      expect(ops(fused)).not.toContain('add');
      const [a, c] = [run(g), run(fused)];
      a.forEach((v, i) => expect(c[i]).toBeCloseTo(v, 12));
    });
  }

  it('leaves a product alone when the "rank" is not smaller than the other dims', () => {
    const g = loraLayer(forms['matmul(s, L)']!, { rank: 6 });
    expect(ops(fuseLowrank(g))).not.toContain('lowrank_matmul');
  });

  it('does not fuse when the full-rank product has another reader', () => {
    const g = loraLayer(forms['matmul(s, L)']!);
    const b = new GraphBuilder(g);
    b.output('full', 5); // the x·Wᵀ matmul node
    expect(g.nodes[5]!.op).toBe('matmul');
    expect(ops(fuseLowrank(g))).not.toContain('lowrank_matmul');
  });
});

describe('fuse-lowrank re-association', () => {
  it('pairs each low-rank term of a flattened sum with a full-rank term', () => {
    // dx = ds_v·A_v + dy_v·W_v + dy_q·W_q + ds_q·A_q, accumulated left to right as autodiff does.
    const b = new GraphBuilder();
    const dyq = b.input('dyq', 'f32', [3, 8]);
    const dyv = b.input('dyv', 'f32', [3, 8]);
    const dsq = b.input('dsq', 'f32', [3, 2]);
    const dsv = b.input('dsv', 'f32', [3, 2]);
    const wq = b.param('wq', [8, 6], 'frozen');
    const wv = b.param('wv', [8, 6], 'frozen');
    const aq = b.param('aq', [2, 6], 'adapter');
    const av = b.param('av', [2, 6], 'adapter');
    let y = b.add(b.matmul(dsv, av), b.matmul(dyv, wv));
    y = b.add(y, b.matmul(dyq, wq));
    y = b.add(y, b.matmul(dsq, aq));
    b.output('y', y);
    const fused = dce(fuseLowrank(b.graph));
    verifyGraph(fused);
    expect(fused.nodes.filter((n) => n.op === 'lowrank_matmul').length).toBe(2);
    expect(fused.nodes.filter((n) => n.op === 'add').length).toBe(1);
    const r = rng(9);
    const vals: Record<string, Float64Array> = {};
    for (const n of b.graph.nodes) if (n.op === 'param' || n.op === 'input') vals[(n.attrs as OpAttrs['param']).name] = randn(n.type.shape, r);
    const feed = (g: Graph) => interpret(g, { inputs: vals, params: vals }, { precision: 'f64' }).outputs['y']!;
    const [u, f] = [feed(b.graph), feed(fused)];
    u.forEach((v, i) => expect(f[i]).toBeCloseTo(v, 12));
  });
});
