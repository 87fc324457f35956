import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { collectErrors, verifyGraph } from '../../../compiler/ir/verify.ts';

function small() {
  const b = new GraphBuilder();
  const x = b.input('x', 'f32', [2, 3]);
  const w = b.param('w', [4, 3], 'adapter');
  const y = b.matmul(x, w, true, 'proj');
  b.output('y', y);
  return { b, x, w, y };
}

describe('verifyGraph', () => {
  it('accepts a builder-made graph', () => {
    expect(() => verifyGraph(small().b.graph)).not.toThrow();
  });

  it('rejects an input that is not an earlier node', () => {
    const { b, y } = small();
    b.graph.nodes[y]!.inputs = [y, 1];
    expect(collectErrors(b.graph).join()).toMatch(/not earlier nodes/);
  });

  it('rejects a stored type that disagrees with the shape rule', () => {
    const { b, y } = small();
    b.graph.nodes[y]!.type = { dtype: 'f32', shape: [2, 5] };
    expect(() => verifyGraph(b.graph)).toThrow(/inputs give f32\[2, 4\]/);
  });

  it('rejects outputs, grads and effects that do not exist or do not fit', () => {
    const { b, x } = small();
    b.graph.outputs['z'] = 99;
    b.graph.grads['w'] = x;
    b.graph.grads['nope'] = x;
    b.graph.effects.push(x);
    const errors = collectErrors(b.graph).join('\n');
    expect(errors).toMatch(/output "z"/);
    expect(errors).toMatch(/grad "w": \[2, 3\] vs param \[4, 3\]/);
    expect(errors).toMatch(/grad "nope": no such param/);
    expect(errors).toMatch(/effect %0 is input/);
  });

  it('rejects a node whose id is not its index', () => {
    const { b } = small();
    b.graph.nodes[1]!.id = 7;
    expect(collectErrors(b.graph).join()).toMatch(/id is 7, expected 1/);
  });
});
