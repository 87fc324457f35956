// Textual IR, one node a line:
//   %12 = matmul(%3, %7) {transB} : f32[2, 8, 64]  # layers.0.q_proj
// Leaves print their name; boolean attrs print bare when true and are omitted when false.
import type { Graph, Node } from './types.ts';
import { shapeToString } from './types.ts';

/** Arrays longer than this (a literal's data) print their first values and their length. */
const MAX_PRINTED = 8;

function attrValue(v: unknown): string {
  if (Array.isArray(v) && v.length > MAX_PRINTED) return `[${v.slice(0, 4).join(', ')}, ... (${v.length} values)]`;
  if (Array.isArray(v)) return shapeToString(v as number[]);
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

export function formatAttrs(attrs: object): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === undefined) continue;
    parts.push(v === true ? k : `${k}=${attrValue(v)}`);
  }
  return parts.length ? ` {${parts.join(', ')}}` : '';
}

export function formatNode(node: Node): string {
  const args = node.inputs.map((i) => `%${i}`).join(', ');
  const type = `${node.type.dtype}${shapeToString(node.type.shape)}`;
  const label = node.label !== undefined ? `  # ${node.label}` : '';
  return `%${node.id} = ${node.op}(${args})${formatAttrs(node.attrs)} : ${type}${label}`;
}

/** The whole graph: nodes, then outputs, grads and effects. */
export function printGraph(graph: Graph): string {
  const lines = graph.nodes.map(formatNode);
  const named = (title: string, m: Record<string, number>): void => {
    const entries = Object.entries(m);
    if (entries.length) lines.push('', `${title}:`, ...entries.map(([k, id]) => `  ${k} = %${id}`));
  };
  named('outputs', graph.outputs);
  named('grads', graph.grads);
  if (graph.effects.length) lines.push('', `effects: ${graph.effects.map((i) => `%${i}`).join(', ')}`);
  return lines.join('\n') + '\n';
}
