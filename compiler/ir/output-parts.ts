// Graph outputs held in parts along the last axis (graph.outputParts, made by the split pass when a
// value is computed from a weight too large for one binding, e.g. the logits of a 152k-vocab LM
// head): the whole output's shape, and joining the parts read back into one host array.
import { IrError, numel, type Graph, type Shape } from './types.ts';

/** The names of an output's parts, or undefined for an output held whole. */
export function outputPartNames(graph: Graph, name: string): string[] | undefined {
  return graph.outputParts?.[name];
}

/** Whether the graph has an output of that name (whole or in parts). */
export function hasOutput(graph: Graph, name: string): boolean {
  return name in graph.outputs || graph.outputParts?.[name] !== undefined;
}

/** The shape of an output as a whole (parts joined along the last axis). */
export function outputShape(graph: Graph, name: string): Shape {
  const parts = graph.outputParts?.[name];
  const id = graph.outputs[name];
  if (!parts) {
    if (id === undefined) throw new IrError(`the graph has no output "${name}"`);
    return graph.nodes[id]!.type.shape;
  }
  const shapes = parts.map((p) => graph.nodes[graph.outputs[p]!]!.type.shape);
  const width = shapes.reduce((a, s) => a + s[s.length - 1]!, 0);
  return [...shapes[0]!.slice(0, -1), width];
}

/** Reads every part of output `name` with `read` and joins them along the last axis. */
export async function joinOutputParts<T extends Float32Array | Float64Array | Int32Array>(graph: Graph, name: string, read: (part: string) => Promise<T>): Promise<Float32Array> {
  const parts = graph.outputParts?.[name];
  if (!parts) throw new IrError(`output "${name}" is not held in parts`);
  const shape = outputShape(graph, name);
  const width = shape[shape.length - 1]!;
  const rows = numel(shape) / width;
  const out = new Float32Array(numel(shape));
  let col = 0;
  for (const part of parts) {
    const data = await read(part);
    const w = data.length / rows;
    for (let r = 0; r < rows; r++) for (let c = 0; c < w; c++) out[r * width + col + c] = data[r * w + c]!;
    col += w;
  }
  return out;
}
