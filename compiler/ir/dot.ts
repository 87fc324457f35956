// Graphviz rendering of a graph: one box per node (op, type, label), edges from inputs to users.
// Leaves are colored by kind (params by role) so the frozen / trainable split is visible at a glance.
import type { OpAttrs } from './ops.ts';
import type { Graph, Node } from './types.ts';
import { shapeToString } from './types.ts';
import { formatAttrs } from './print.ts';

const escape = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

function color(node: Node): string {
  switch (node.op) {
    case 'param': {
      const role = (node.attrs as OpAttrs['param']).role;
      return role === 'frozen' ? '#dddddd' : role === 'adapter' ? '#ffd27f' : '#ffb3b3';
    }
    case 'input':
      return '#b3d9ff';
    case 'state':
      return '#d9b3ff';
    case 'literal':
      return '#c6ecc6';
    case 'adamw':
      return '#ff9999';
    default:
      return '#ffffff';
  }
}

export function graphToDot(graph: Graph, options: { name?: string } = {}): string {
  const lines = [`digraph "${escape(options.name ?? 'rankfold')}" {`, '  node [shape=box, style=filled, fontname="monospace", fontsize=10];'];
  const outputOf = new Map<number, string[]>();
  for (const [k, id] of Object.entries(graph.outputs)) outputOf.set(id, [...(outputOf.get(id) ?? []), `output ${k}`]);
  for (const [k, id] of Object.entries(graph.grads)) outputOf.set(id, [...(outputOf.get(id) ?? []), `grad ${k}`]);
  for (const node of graph.nodes) {
    const text = [
      `%${node.id} ${node.op}${formatAttrs(node.attrs)}`,
      `${node.type.dtype}${shapeToString(node.type.shape)}`,
      ...(node.label !== undefined ? [node.label] : []),
      ...(outputOf.get(node.id) ?? []),
    ];
    const border = outputOf.has(node.id) ? ', penwidth=2' : '';
    lines.push(`  n${node.id} [label="${text.map(escape).join('\\n')}", fillcolor="${color(node)}"${border}];`);
  }
  for (const node of graph.nodes) for (const i of node.inputs) lines.push(`  n${i} -> n${node.id};`);
  lines.push('}');
  return lines.join('\n') + '\n';
}
