// Block recompute (gradient checkpointing, as torch.utils.checkpoint around each transformer layer):
// of each repeated block's forward values, only the block's input (the residual stream entering
// the layer) stays alive for the backward; whatever else the backward reads is computed again at
// the start of that block's backward, from the block's input and the weights.
//
// The pass runs on the differentiated, fused graph (after the other passes: CSE would merge the
// copies back into the originals). Nodes carry the block (layer) that made them (Node.block, set by
// lowering from the checked model's repeat index). For block b:
//   - saved(b): forward nodes of b that a backward node reads, except the block's outputs (values
//     that other blocks or the rest of the forward read: the next block's input, kept anyway) and
//     graph outputs;
//   - the copies: saved(b) and the nodes of b they depend on, in graph order, stopping at nodes
//     outside b (the block's input, weights, inputs such as positions) and at b's outputs;
//   - the copies are placed right before the first backward node that reads saved(b), and every
//     backward read of a saved value reads its copy instead.
// The originals then die inside the forward, so the plan keeps one block's activations at a time
// (plus every block's input) instead of all of them. The copies compute the same ops on the same
// operands with the same kernels (dropout masks are a hash of seed, step and index), so gradients
// are unchanged.
import type { Value } from '../ir/builder.ts';
import { IN_PLACE_OPS } from '../ir/ops.ts';
import type { Graph, Node } from '../ir/types.ts';
import { forwardPart } from '../plan/memory-plan.ts';
import { isLeaf, rewrite } from './rewrite.ts';

export const RECOMPUTE_MODES = ['none', 'blocks'] as const;
export type RecomputeMode = (typeof RECOMPUTE_MODES)[number];

interface BlockPlan {
  /** Old ids to copy, in graph order. */
  copies: number[];
  /** The old id before which the copies are emitted: the first backward reader of a saved value. */
  at: number;
}

/** Which forward nodes of which block are recomputed, and where. */
export function planRecompute(graph: Graph): Map<number, BlockPlan> {
  const nodes = graph.nodes;
  const fwd = forwardPart(graph);
  const outputs = new Set(Object.values(graph.outputs));
  const blockOf = (id: number): number | undefined => {
    const n = nodes[id]!;
    return fwd[id] && !isLeaf(n) && !IN_PLACE_OPS.has(n.op) ? n.block : undefined;
  };
  // A block's outputs: its values read by forward nodes outside it (the next block's input).
  const boundary = new Set<number>(outputs);
  for (const n of nodes) {
    if (!fwd[n.id]) continue;
    for (const i of n.inputs) {
      const b = blockOf(i);
      if (b !== undefined && blockOf(n.id) !== b) boundary.add(i);
    }
  }
  const recomputable = (id: number): boolean => blockOf(id) !== undefined && !boundary.has(id);
  const saved = new Map<number, Set<number>>();
  const first = new Map<number, number>();
  for (const n of nodes) {
    if (fwd[n.id]) continue;
    for (const i of n.inputs) {
      if (!recomputable(i)) continue;
      const b = blockOf(i)!;
      if (!saved.has(b)) saved.set(b, new Set());
      saved.get(b)!.add(i);
      if (!first.has(b)) first.set(b, n.id);
    }
  }
  const plans = new Map<number, BlockPlan>();
  for (const [b, roots] of saved) {
    const need = new Set<number>();
    const visit = (id: number): void => {
      if (need.has(id) || !recomputable(id) || blockOf(id) !== b) return;
      need.add(id);
      for (const i of nodes[id]!.inputs) visit(i);
    };
    for (const id of roots) visit(id);
    plans.set(b, { copies: [...need].sort((x, y) => x - y), at: first.get(b)! });
  }
  return plans;
}

/** The `recompute: 'blocks'` pass (see the header). A graph without blocks or backward is returned as is. */
export function recomputeBlocks(graph: Graph): Graph {
  const plans = planRecompute(graph);
  if (plans.size === 0) return graph;
  const byInsertion = new Map<number, BlockPlan[]>();
  for (const p of plans.values()) byInsertion.set(p.at, [...(byInsertion.get(p.at) ?? []), p]);
  const fwd = forwardPart(graph);
  // Old id -> the new id of its copy, once emitted (backward reads go there).
  const copyOf = new Map<number, Value>();
  return rewrite(graph, (node: Node, ctx) => {
    for (const p of byInsertion.get(node.id) ?? []) {
      const local = new Map<number, Value>();
      for (const id of p.copies) {
        const old = graph.nodes[id]!;
        const ins = old.inputs.map((i) => local.get(i) ?? ctx.map(i));
        local.set(id, ctx.b.emit(old.op, ins, old.attrs, `${old.label ?? `%${id} ${old.op}`}.recompute`));
      }
      for (const [id, v] of local) copyOf.set(id, v);
    }
    if (fwd[node.id]) return undefined;
    if (!node.inputs.some((i) => copyOf.has(i))) return undefined;
    return ctx.b.emit(node.op, node.inputs.map((i) => copyOf.get(i) ?? ctx.map(i)), node.attrs, node.label);
  });
}
