// Dead-code elimination: keeps what outputs, grads and effects (in-place optimizer updates, cache
// writes) transitively read, and drops the rest. Parameters and inputs that nothing reads are dropped
// too: the runtime binds leaves by name, so an unread one simply needs no buffer.
import type { Graph } from '../ir/types.ts';
import { rewrite } from './rewrite.ts';

export function dce(graph: Graph): Graph {
  const live = new Array<boolean>(graph.nodes.length).fill(false);
  for (const id of [...Object.values(graph.outputs), ...Object.values(graph.grads), ...graph.effects]) live[id] = true;
  for (let id = graph.nodes.length - 1; id >= 0; id--) {
    if (live[id]) for (const i of graph.nodes[id]!.inputs) live[i] = true;
  }
  return rewrite(graph, (node) => (live[node.id] ? undefined : null));
}
