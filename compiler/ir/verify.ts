// The IR verifier: checks the invariants every pass must preserve. Run between passes in tests.
//  - node i has id i, and its inputs are earlier nodes (topological order);
//  - each node's stored type equals the type its shape rule infers from its inputs now;
//  - outputs, grads and effects name existing nodes; a grad has its parameter's shape; effects are adamw;
//  - parameters, inputs and literals are unique by name.
import { inferType, type OpAttrs } from './ops.ts';
import { IrError, sameShape, shapeToString, type Graph } from './types.ts';

export function verifyGraph(graph: Graph): void {
  const errors = collectErrors(graph);
  if (errors.length > 0) throw new IrError(`invalid IR:\n  ${errors.join('\n  ')}`);
}

/** All violations, for messages and tests; empty when the graph is valid. */
export function collectErrors(graph: Graph): string[] {
  const errors: string[] = [];
  const n = graph.nodes.length;
  const paramShape = new Map<string, readonly number[]>();
  const inputNames = new Set<string>();
  const literalNames = new Set<string>();
  graph.nodes.forEach((node, i) => {
    const at = `%${i} ${node.op}`;
    if (node.id !== i) errors.push(`${at}: id is ${node.id}, expected ${i}`);
    const bad = node.inputs.filter((id) => !Number.isInteger(id) || id < 0 || id >= i);
    if (bad.length > 0) {
      errors.push(`${at}: inputs ${bad.map((b) => `%${b}`).join(', ')} are not earlier nodes`);
      return;
    }
    try {
      const t = inferType(node.op, node.inputs.map((id) => graph.nodes[id]!.type), node.attrs);
      if (t.dtype !== node.type.dtype || !sameShape(t.shape, node.type.shape)) {
        errors.push(`${at}: type ${node.type.dtype}${shapeToString(node.type.shape)} but inputs give ${t.dtype}${shapeToString(t.shape)}`);
      }
    } catch (e) {
      errors.push(`${at}: ${(e as Error).message}`);
    }
    if (node.op === 'param') {
      const a = node.attrs as OpAttrs['param'];
      if (paramShape.has(a.name)) errors.push(`${at}: duplicate param "${a.name}"`);
      paramShape.set(a.name, a.shape);
    }
    if (node.op === 'input') {
      const a = node.attrs as OpAttrs['input'];
      if (inputNames.has(a.name)) errors.push(`${at}: duplicate input "${a.name}"`);
      inputNames.add(a.name);
    }
    if (node.op === 'literal') {
      const a = node.attrs as OpAttrs['literal'];
      if (literalNames.has(a.name)) errors.push(`${at}: duplicate literal "${a.name}"`);
      literalNames.add(a.name);
    }
  });
  const valid = (id: number): boolean => Number.isInteger(id) && id >= 0 && id < n;
  for (const [name, id] of Object.entries(graph.outputs)) {
    if (!valid(id)) errors.push(`output "${name}": %${id} does not exist`);
  }
  for (const [name, id] of Object.entries(graph.grads)) {
    if (!valid(id)) {
      errors.push(`grad "${name}": %${id} does not exist`);
      continue;
    }
    const shape = paramShape.get(name);
    if (shape === undefined) errors.push(`grad "${name}": no such param`);
    else if (!sameShape(shape, graph.nodes[id]!.type.shape)) {
      errors.push(`grad "${name}": ${shapeToString(graph.nodes[id]!.type.shape)} vs param ${shapeToString(shape)}`);
    }
  }
  for (const [name, parts] of Object.entries(graph.outputParts ?? {})) {
    if (name in graph.outputs) errors.push(`output "${name}" is both whole and in parts`);
    const shapes = parts.map((p) => graph.outputs[p]).filter((id) => id !== undefined && valid(id)).map((id) => graph.nodes[id!]!.type.shape);
    if (shapes.length !== parts.length || parts.length === 0) errors.push(`output "${name}": parts ${parts.join(', ')} are not all outputs`);
    else if (shapes.some((s) => !sameShape(s.slice(0, -1), shapes[0]!.slice(0, -1)))) errors.push(`output "${name}": parts differ in more than the last dimension`);
  }
  for (const id of graph.effects) {
    if (!valid(id)) errors.push(`effect %${id} does not exist`);
    else if (graph.nodes[id]!.op !== 'adamw' && graph.nodes[id]!.op !== 'cache_update') {
      errors.push(`effect %${id} is ${graph.nodes[id]!.op}, not an in-place op`);
    }
  }
  return errors;
}
