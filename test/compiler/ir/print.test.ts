import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { formatNode, printGraph } from '../../../compiler/ir/print.ts';
import { graphToDot } from '../../../compiler/ir/dot.ts';

function small() {
  const b = new GraphBuilder();
  const x = b.input('x', 'f32', [2, 8, 32]);
  const w = b.param('layers.0.q_proj.weight', [64, 32], 'frozen');
  const y = b.matmul(x, w, true, 'layers.0.q_proj');
  b.output('q', y);
  return { b, y };
}

describe('printGraph', () => {
  it('prints one node a line with ids, attrs, type and label', () => {
    const { b, y } = small();
    expect(formatNode(b.node(y))).toBe('%2 = matmul(%0, %1) {transB} : f32[2, 8, 64]  # layers.0.q_proj');
    const text = printGraph(b.graph);
    expect(text).toContain('%1 = param() {name="layers.0.q_proj.weight", shape=[64, 32], role="frozen"} : f32[64, 32]');
    expect(text).toContain('outputs:\n  q = %2');
  });
});

describe('graphToDot', () => {
  it('emits a node per IR node and an edge per input', () => {
    const { b } = small();
    const dot = graphToDot(b.graph);
    expect(dot.startsWith('digraph "rankfold" {')).toBe(true);
    expect(dot).toContain('n0 -> n2;');
    expect(dot).toContain('n1 -> n2;');
    expect(dot).toMatch(/n2 \[label="%2 matmul \{transB\}\\nf32\[2, 8, 64\]\\nlayers\.0\.q_proj\\noutput q"/);
  });
});
