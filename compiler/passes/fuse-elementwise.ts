// fuse-elementwise (scale folding): removes `scale` nodes whose factor can ride on a neighbour.
//   1. scale(scale(x, a), b)            -> scale(x, a·b)
//   2. scale(x, 1)                      -> x
//   3. lowrank_matmul(x, W, scale(s, c), L){scale: k}  -> lowrank_matmul(x, W, s, L){scale: k·c}
//      and the same for a scaled L; the product is bilinear in (s, L), so the factor moves out.
// Exact in real arithmetic; in f32 the folded factor is rounded once instead of twice (≤ 1 ulp).
// It saves a full pass over a tensor each (the backward LoRA path scales dy by alpha/r before
// multiplying by B; after fuse-lowrank that scale often sits on a low-rank operand).
// Only a scale node with a single reader is folded away, so no value is computed twice.
import type { OpAttrs } from '../ir/ops.ts';
import type { Graph } from '../ir/types.ts';
import { rewrite } from './rewrite.ts';

export function fuseElementwise(graph: Graph): Graph {
  return rewrite(graph, (node, ctx) => {
    const single = (id: number): boolean => ctx.uses[id] === 1 && graph.nodes[id]!.op === 'scale';
    const factor = (id: number): number => (graph.nodes[id]!.attrs as OpAttrs['scale']).c;
    if (node.op === 'scale') {
      const c = (node.attrs as OpAttrs['scale']).c;
      const x = node.inputs[0]!;
      if (single(x)) {
        const cc = c * factor(x);
        const inner = graph.nodes[x]!.inputs[0]!;
        return cc === 1 ? ctx.map(inner) : ctx.b.scale(ctx.map(inner), cc, node.label);
      }
      if (c === 1) return ctx.map(x);
      return undefined;
    }
    if (node.op === 'lowrank_matmul') {
      const a = node.attrs as OpAttrs['lowrank_matmul'];
      let k = a.scale;
      const ins = node.inputs.map((id, i) => {
        if ((i === 2 || i === 3) && single(id)) {
          k *= factor(id);
          return ctx.map(graph.nodes[id]!.inputs[0]!);
        }
        return ctx.map(id);
      });
      if (k === a.scale) return undefined;
      return ctx.b.emit('lowrank_matmul', ins, { ...a, scale: k }, node.label);
    }
    return undefined;
  });
}
