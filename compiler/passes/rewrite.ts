// The one mechanism every pass uses: rebuild a graph node by node into a fresh builder (so every
// node's type is re-inferred, and ids stay equal to positions), letting the pass replace a node by
// any value of the new graph, or drop it. Outputs, grads and effects follow their nodes.
import { GraphBuilder, type Value } from '../ir/builder.ts';
import { IrError, type Graph, type Node } from '../ir/types.ts';

export type Pass = (graph: Graph) => Graph;

export interface RewriteCtx {
  /** Builder of the new graph. */
  b: GraphBuilder;
  old: Graph;
  /** The new id of an old node (it must have been kept). */
  map(oldId: number): Value;
  /** Number of readers of each old node, counting outputs, grads and effects as readers. */
  uses: number[];
  /** Copies `node` with its inputs mapped (the default action). */
  copy(node: Node): Value;
}

/**
 * visit returns the new value that stands for `node`, `null` to drop it, or undefined to copy it.
 * A dropped node may not be read by a kept one.
 */
export function rewrite(graph: Graph, visit: (node: Node, ctx: RewriteCtx) => Value | null | undefined): Graph {
  const b = new GraphBuilder();
  const newId: (number | undefined)[] = [];
  const ctx: RewriteCtx = {
    b,
    old: graph,
    uses: useCounts(graph),
    map(oldId) {
      const id = newId[oldId];
      if (id === undefined) throw new IrError(`rewrite: %${oldId} was dropped but is still read`);
      return id;
    },
    copy: (node) => b.emit(node.op, node.inputs.map((i) => ctx.map(i)), node.attrs, node.label),
  };
  for (const node of graph.nodes) {
    const first = b.graph.nodes.length;
    const r = visit(node, ctx);
    newId[node.id] = r === null ? undefined : r === undefined ? ctx.copy(node) : r;
    // Nodes made for `node` belong to its block (a fused LoRA product stays in its layer).
    if (node.block !== undefined) {
      for (const made of b.graph.nodes.slice(first)) if (made.block === undefined && !isLeaf(made)) made.block = node.block;
    }
  }
  const remap = (m: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(m).map(([k, id]) => [k, ctx.map(id)]));
  b.graph.outputs = remap(graph.outputs);
  b.graph.grads = remap(graph.grads);
  b.graph.effects = graph.effects.map((id) => ctx.map(id));
  if (graph.outputParts) b.graph.outputParts = structuredClone(graph.outputParts);
  return b.graph;
}

/** Leaves (inputs, parameters, state) belong to no block: they are stored, never recomputed. */
export function isLeaf(node: Node): boolean {
  return node.op === 'input' || node.op === 'param' || node.op === 'state';
}

export function useCounts(graph: Graph): number[] {
  const uses = new Array<number>(graph.nodes.length).fill(0);
  for (const node of graph.nodes) for (const i of node.inputs) uses[i]!++;
  for (const id of [...Object.values(graph.outputs), ...Object.values(graph.grads), ...graph.effects]) uses[id]!++;
  return uses;
}

/** Readers of each node, for passes that look at consumers. */
export function usersOf(graph: Graph): number[][] {
  const users: number[][] = graph.nodes.map(() => []);
  for (const node of graph.nodes) for (const i of node.inputs) users[i]!.push(node.id);
  return users;
}
