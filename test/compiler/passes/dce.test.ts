import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { dce } from '../../../compiler/passes/dce.ts';

describe('dce', () => {
  it('drops unread nodes and keeps outputs, grads and effects with what they read', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [2]);
    const w = b.param('w', [2], 'trainable');
    b.unary('exp', x); // dead
    const y = b.mul(x, w);
    b.output('y', y);
    const g = b.scale(x, 2);
    b.graph.grads['w'] = g;
    const m = b.state('w.m', 'w', [2]);
    const v = b.state('w.v', 'w', [2]);
    const h = b.input('optim', 'f32', [4]);
    const one = b.constant(1, []);
    b.graph.effects.push(b.emit('adamw', [w, g, m, v, h, one], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }));
    const out = dce(b.graph);
    verifyGraph(out);
    expect(out.nodes.map((n) => n.op)).toEqual(['input', 'param', 'mul', 'scale', 'state', 'state', 'input', 'const', 'adamw']);
    expect(out.nodes[out.outputs['y']!]!.op).toBe('mul');
    expect(out.nodes[out.grads['w']!]!.op).toBe('scale');
    expect(out.nodes[out.effects[0]!]!.op).toBe('adamw');
  });
});
