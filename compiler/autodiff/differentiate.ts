// Reverse-mode autodiff over the IR. Appends the backward graph to the same graph, driven by the
// gradient rule of each op (rules/, reached through the op registry), and fills graph.grads for every 'adapter' or 'trainable' parameter.
//
// Pruning: a node "needs" a gradient when it depends on a trainable parameter (stop_gradient cuts
// the dependence). Only inputs that need one are asked for, so frozen weights get no gradient nodes,
// and layers below the first adapter compute no input gradients, while gradients still flow down
// through frozen layers to the adapters beneath them. Several uses of a value accumulate with add.
import { GraphBuilder, type Value } from '../ir/builder.ts';
import type { OpAttrs, OpName } from '../ir/ops.ts';
import { IrError, type Graph, type Node } from '../ir/types.ts';
import type { GradRule } from './rule.ts';
import { OPS } from '../ops/registry.ts';

export function isTrainableParam(node: Node): boolean {
  if (node.op !== 'param') return false;
  const role = (node.attrs as OpAttrs['param']).role;
  return role === 'adapter' || role === 'trainable';
}

/** needs[i]: node i's value depends on a trainable parameter through differentiable ops. */
export function gradientDependence(graph: Graph): boolean[] {
  const needs: boolean[] = [];
  for (const node of graph.nodes) {
    if (node.op === 'param') needs.push(isTrainableParam(node));
    else if (node.op === 'stop_gradient' || OPS[node.op].grad === null) needs.push(false);
    else needs.push(node.inputs.some((i) => needs[i]));
  }
  return needs;
}

/**
 * Appends d(loss)/d(param) for every trainable parameter to `graph` (mutating it) and returns it.
 * A trainable parameter the loss does not depend on gets a zero gradient (a const), so the optimizer
 * can treat every trainable parameter alike.
 */
export function differentiate(graph: Graph, lossNode: number): Graph {
  const b = new GraphBuilder(graph);
  const loss = graph.nodes[lossNode];
  if (!loss) throw new IrError(`differentiate: loss %${lossNode} does not exist`);
  const needs = gradientDependence(graph);
  const grads = new Map<number, Value>();
  const accumulate = (id: number, g: Value): void => {
    const prev = grads.get(id);
    grads.set(id, prev === undefined ? g : b.add(prev, g));
  };
  if (needs[lossNode]) grads.set(lossNode, b.constant(1, loss.type.shape));
  for (let id = lossNode; id >= 0; id--) {
    const dy = grads.get(id);
    const node = graph.nodes[id]!;
    if (dy === undefined || node.inputs.length === 0) continue;
    const rule = OPS[node.op].grad as GradRule<OpName> | null;
    if (rule === null) throw new IrError(`autodiff: no gradient rule for ${node.op} (%${id})`);
    const wants = node.inputs.map((i) => needs[i]!);
    const gs = rule({ b, node, y: id, dy, wants });
    node.inputs.forEach((input, k) => {
      const g = gs[k];
      if (wants[k] && g !== undefined) accumulate(input, g);
    });
  }
  for (const node of graph.nodes.slice(0, lossNode + 1)) {
    if (!isTrainableParam(node)) continue;
    const { name, shape } = node.attrs as OpAttrs['param'];
    graph.grads[name] = grads.get(node.id) ?? b.constant(0, shape);
  }
  // Trainable parameters declared after the loss node cannot influence it.
  for (const node of graph.nodes.slice(lossNode + 1)) {
    if (!isTrainableParam(node)) continue;
    const { name, shape } = node.attrs as OpAttrs['param'];
    if (!(name in graph.grads)) graph.grads[name] = b.constant(0, shape);
  }
  return graph;
}
