// Common-subexpression elimination: two nodes with the same op, attributes and (already merged)
// inputs compute the same tensor, so the later one is replaced by the earlier. In-place ops (adamw,
// cache_update) are never merged: they are run for their effect. Dropout nodes are merged only when
// their seeds agree too, which the attributes already include (same mask).
import { IN_PLACE_OPS, type OpName } from '../ir/ops.ts';
import type { Graph } from '../ir/types.ts';
import { rewrite } from './rewrite.ts';

const EFFECTFUL: ReadonlySet<OpName> = new Set<OpName>(['adamw', ...IN_PLACE_OPS]);

/** Attribute objects with sorted keys, so key order does not defeat the match. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${k}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function cse(graph: Graph): Graph {
  const seen = new Map<string, number>();
  return rewrite(graph, (node, ctx) => {
    if (EFFECTFUL.has(node.op)) return undefined;
    const key = `${node.op}(${node.inputs.map((i) => ctx.map(i)).join(',')})${canonical(node.attrs)}`;
    const found = seen.get(key);
    if (found !== undefined) return found;
    const id = ctx.copy(node);
    seen.set(key, id);
    return id;
  });
}
