// fuse-lowrank: rewrites a full-rank product plus a low-rank product into one lowrank_matmul,
//   add(matmul(x, W), T)   or   add(T, matmul(x, W)),  T one of
//     scale(matmul(s, L), c) | matmul(scale(s, c), L) | matmul(s, L)   (c = 1)
// where s's last dim r (the rank) is smaller than both x's last dim K and the output width N.
// This is the LoRA forward y = x·W0ᵀ + (alpha/r)·(x·Aᵀ)·Bᵀ, and also the input gradient
// dx = dy·W0 + ds·A that autodiff emits for it. A bias is folded in too, whether added to the
// full-rank product first (GPT-2's Conv1D + bias, then the adapter) or to the fused sum after.
// Sums of several projections of one activation are re-associated so each low-rank term pairs with
// the nearest full-rank term (see pairTerms). The full-rank product must have no other reader (fusing would compute it twice); the low-rank
// nodes may, since recomputing a rank-r product is cheap. Replaced nodes are left to DCE.
import type { Value } from '../ir/builder.ts';
import type { OpAttrs } from '../ir/ops.ts';
import { sameShape, type Graph, type Node } from '../ir/types.ts';
import { rewrite, usersOf, type RewriteCtx } from './rewrite.ts';

interface FullTerm {
  x: number;
  w: number;
  transW: boolean;
  bias?: number;
}

interface LowTerm {
  s: number;
  l: number;
  transL: boolean;
  scale: number;
}

const lastOf = (g: Graph, id: number): number => {
  const s = g.nodes[id]!.type.shape;
  return s[s.length - 1] ?? 1;
};

function plainMatmul(g: Graph, id: number): Node<'matmul'> | undefined {
  const n = g.nodes[id]!;
  return n.op === 'matmul' && !(n.attrs as OpAttrs['matmul']).transA ? (n as Node<'matmul'>) : undefined;
}

function fullTerm(g: Graph, uses: number[], id: number): FullTerm | undefined {
  const n = g.nodes[id]!;
  if (n.op === 'add') {
    if (uses[id] !== 1 || uses[n.inputs[0]!] !== 1) return undefined;
    const [mm, bias] = n.inputs as [number, number];
    const inner = fullTerm(g, uses, mm);
    const b = g.nodes[bias]!.type.shape;
    if (inner && inner.bias === undefined && b.length === 1 && b[0] === lastOf(g, id)) return { ...inner, bias };
    return undefined;
  }
  const m = plainMatmul(g, id);
  if (!m || uses[id] !== 1) return undefined;
  return { x: m.inputs[0]!, w: m.inputs[1]!, transW: m.attrs.transB };
}

function lowTerm(g: Graph, id: number): LowTerm | undefined {
  const n = g.nodes[id]!;
  let scale = 1;
  let mm = plainMatmul(g, id);
  if (n.op === 'scale') {
    scale = (n.attrs as OpAttrs['scale']).c;
    mm = plainMatmul(g, n.inputs[0]!);
  }
  if (!mm) return undefined;
  let s = mm.inputs[0]!;
  const sNode = g.nodes[s]!;
  if (n.op !== 'scale' && sNode.op === 'scale') {
    scale = (sNode.attrs as OpAttrs['scale']).c;
    s = sNode.inputs[0]!;
  }
  return { s, l: mm.inputs[1]!, transL: mm.attrs.transB, scale };
}

/** Same-shape add (no broadcast): a node of a sum that may be re-associated. */
function isSum(g: Graph, id: number): boolean {
  const n = g.nodes[id]!;
  return n.op === 'add' && sameShape(g.nodes[n.inputs[0]!]!.type.shape, g.nodes[n.inputs[1]!]!.type.shape);
}

type Fused = FullTerm & LowTerm;

/**
 * The terms of the sum rooted at `root`: single-use same-shape adds below it are flattened, so
 * that dx = ds_v·A_v + dy_v·W_v + dy_k·W_k + ds_q·A_q + dy_q·W_q (several projections reading one
 * activation, as autodiff accumulates them) still pairs each low-rank term with a full-rank one.
 * Returns the new terms in order (fused pairs at the position of their first member), or undefined
 * when no pair is found.
 */
function pairTerms(g: Graph, uses: number[], users: number[][], root: number): (number | Fused)[] | undefined {
  const inner = (id: number): boolean => isSum(g, id) && uses[id] === 1 && users[id]!.length === 1 && isSum(g, users[id]![0]!);
  const terms: number[] = [];
  const flatten = (id: number): void => {
    if (id === root || inner(id)) for (const i of g.nodes[id]!.inputs) flatten(i);
    else terms.push(id);
  };
  flatten(root);
  const N = lastOf(g, root);
  const taken = new Set<number>();
  const out = new Map<number, number | Fused>();
  // Narrowest low-rank terms pair first, so adapter products (rank r) find their base projection
  // before a merely narrower full-rank product (a GQA k/v projection) is considered low-rank.
  const lows = terms
    .map((t, i) => ({ i, low: lowTerm(g, t) }))
    .filter((c): c is { i: number; low: LowTerm } => c.low !== undefined && lastOf(g, c.low.s) < N)
    .sort((a, b) => lastOf(g, a.low.s) - lastOf(g, b.low.s) || a.i - b.i);
  for (const { i, low } of lows) {
    if (taken.has(i)) continue;
    const r = lastOf(g, low.s);
    // The nearest untaken full-rank partner with a wider inner dimension.
    let best = -1;
    terms.forEach((f, j) => {
      if (j === i || taken.has(j)) return;
      const full = fullTerm(g, uses, f);
      if (full && r < lastOf(g, full.x) && (best < 0 || Math.abs(j - i) < Math.abs(best - i))) best = j;
    });
    if (best < 0) continue;
    taken.add(i).add(best);
    out.set(Math.min(i, best), { ...fullTerm(g, uses, terms[best]!)!, ...low });
  }
  if (taken.size === 0) return undefined;
  terms.forEach((t, i) => {
    if (!taken.has(i)) out.set(i, t);
  });
  return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

function emitFused(ctx: RewriteCtx, m: FullTerm & LowTerm, label: string | undefined): Value {
  const ins = [m.x, m.w, m.s, m.l, ...(m.bias !== undefined ? [m.bias] : [])].map((i) => ctx.map(i));
  const attrs: OpAttrs['lowrank_matmul'] = { transW: m.transW, transL: m.transL, scale: m.scale, hasBias: m.bias !== undefined };
  return ctx.b.emit('lowrank_matmul', ins, attrs, label);
}

export function fuseLowrank(graph: Graph): Graph {
  const fused = new Map<number, Fused>();
  const users = usersOf(graph);
  return rewrite(graph, (node, ctx) => {
    const inner = isSum(graph, node.id) && ctx.uses[node.id] === 1 && users[node.id]!.length === 1 && isSum(graph, users[node.id]![0]!);
    if (isSum(graph, node.id) && !inner) {
      const terms = pairTerms(graph, ctx.uses, users, node.id);
      if (terms) {
        if (terms.length === 1) fused.set(node.id, terms[0] as Fused);
        const values = terms.map((t) => (typeof t === 'number' ? ctx.map(t) : emitFused(ctx, t, node.label)));
        return values.reduce((acc, v) => ctx.b.add(acc, v, node.label));
      }
    }
    // A bias added right after a fused node with no other reader joins it.
    if (node.op === 'add' && ctx.uses[node.inputs[0]!] === 1) {
      const prev = fused.get(node.inputs[0]!);
      const bias = node.inputs[1]!;
      const bs = graph.nodes[bias]!.type.shape;
      if (prev && prev.bias === undefined && bs.length === 1 && bs[0] === lastOf(graph, node.id)) {
        return emitFused(ctx, { ...prev, bias }, node.label);
      }
    }
    return undefined;
  });
}
