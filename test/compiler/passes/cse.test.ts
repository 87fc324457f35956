import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { cse } from '../../../compiler/passes/cse.ts';
import { dce } from '../../../compiler/passes/dce.ts';

describe('cse', () => {
  it('merges nodes with the same op, attrs and inputs, transitively', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [2, 4]);
    const w = b.param('w', [3, 4], 'frozen');
    const a1 = b.matmul(x, w, true);
    const a2 = b.matmul(x, w, true);
    const s1 = b.unary('silu', a1);
    const s2 = b.unary('silu', a2);
    b.output('y', b.add(s1, s2));
    const out = dce(cse(b.graph));
    verifyGraph(out);
    expect(out.nodes.map((n) => n.op)).toEqual(['input', 'param', 'matmul', 'unary', 'add']);
    expect(out.nodes[4]!.inputs).toEqual([3, 3]);
  });

  it('keeps different attributes and never merges in-place ops', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'f32', [4]);
    b.output('a', b.scale(x, 2));
    b.output('b', b.scale(x, 3));
    b.output('c', b.dropout(x, 0.1, 1));
    b.output('d', b.dropout(x, 0.1, 2));
    const cache = b.state('cache', 'kv', [1, 4, 1]);
    const off = b.input('offset', 'i32', [1]);
    const xx = b.input('xx', 'f32', [1, 1, 1]);
    b.graph.effects.push(b.emit('cache_update', [cache, xx, off], {}), b.emit('cache_update', [cache, xx, off], {}));
    const out = cse(b.graph);
    expect(out.nodes.length).toBe(b.graph.nodes.length);
  });
});
