import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { interpret } from '../../../compiler/ir/interp.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import type { OpAttrs } from '../../../compiler/ir/ops.ts';
import { dce } from '../../../compiler/passes/dce.ts';
import { fuseElementwise } from '../../../compiler/passes/fuse-elementwise.ts';

describe('fuse-elementwise', () => {
  it('merges scale chains and drops scale by 1', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [3]);
    b.output('y', b.scale(b.scale(x, 2), 3));
    b.output('z', b.scale(x, 1));
    const g = dce(fuseElementwise(b.graph));
    verifyGraph(g);
    expect(g.nodes.map((n) => n.op)).toEqual(['input', 'scale']);
    expect((g.nodes[1]!.attrs as OpAttrs['scale']).c).toBe(6);
    expect(g.outputs['z']).toBe(0);
  });

  it('moves a single-use scale on a low-rank operand into lowrank_matmul.scale', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [2, 4]);
    const w = b.param('w', [3, 4], 'frozen');
    const s = b.input('s', 'f32', [2, 1]);
    const l = b.param('l', [3, 1], 'adapter');
    const y = b.emit('lowrank_matmul', [x, w, b.scale(s, 0.5), b.scale(l, 3)], { transW: true, transL: true, scale: 2, hasBias: false });
    b.output('y', y);
    const g = dce(fuseElementwise(b.graph));
    verifyGraph(g);
    expect(g.nodes.map((n) => n.op)).not.toContain('scale');
    expect((g.nodes.find((n) => n.op === 'lowrank_matmul')!.attrs as OpAttrs['lowrank_matmul']).scale).toBe(3);
    const feeds = { inputs: { x: Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8), s: Float64Array.of(1, -1) }, params: { w: new Float64Array(12).fill(0.5), l: Float64Array.of(1, 2, 3) } };
    const [a, c] = [interpret(b.graph, feeds, { precision: 'f64' }).outputs['y']!, interpret(g, feeds, { precision: 'f64' }).outputs['y']!];
    a.forEach((v, i) => expect(c[i]).toBeCloseTo(v, 14));
  });

  it('keeps a scale that has other readers', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [3]);
    const s = b.scale(x, 2);
    b.output('a', b.scale(s, 3));
    b.output('b', s);
    const g = dce(fuseElementwise(b.graph));
    expect(g.nodes.filter((n) => n.op === 'scale').length).toBe(2);
  });
});
