// WGSL code generation entry points: emit one node as kernel launches, and print every kernel of
// a graph (deduplicated by pipeline key) for `rankfold compile --emit wgsl`.
import type { Graph, Node } from '../ir/types.ts';
import type { OpAttrs } from '../ir/ops.ts';
import type { EmittedOp, Emitter, OpView } from './kernel.ts';
import { DEFAULT_TARGET, type Target } from '../target.ts';
import { isLeafOp, OPS } from '../ops/registry.ts';

export type { Launch, EmittedOp, EmitContext, Emitter, OpView, Binding, BufferRef, Uniform } from './kernel.ts';
export type { Target } from '../target.ts';
export { foldWorkgroups } from './kernel.ts';

export interface EmitOptions {
  /** Whether the graph has an input named "step" (dropout reads it). */
  hasStep?: boolean;
  /** What to emit for (default DEFAULT_TARGET, a 'gpu' with WebGPU's default limits). */
  target?: Target;
}

/** Emits one op (given its operand types) as launches, through the op's registry entry; leaves emit nothing. */
export function emitOp(v: OpView, options: EmitOptions = {}): EmittedOp {
  const entry = OPS[v.op];
  if (!entry) throw new Error(`codegen: no WGSL kernel for op "${v.op}"`);
  if (entry.emit === null) return { launches: [], scratch: [] };
  const emit = entry.emit as Emitter<unknown>;
  return emit(v, { target: options.target ?? DEFAULT_TARGET, hasStep: options.hasStep ?? false });
}

export function viewOf(graph: Graph, node: Node): OpView {
  return {
    op: node.op,
    attrs: node.attrs,
    inputs: node.inputs.map((id) => graph.nodes[id]!.type),
    out: node.type,
  };
}

export function graphHasStep(graph: Graph): boolean {
  // Dropout reads "step" as i32 (the interpreter's convention); a missing one means step 0.
  return graph.nodes.some((n) => n.op === 'input' && (n.attrs as OpAttrs['input']).name === 'step' && n.type.dtype === 'i32');
}

export function emitNode(graph: Graph, node: Node, target: Target = DEFAULT_TARGET): EmittedOp {
  return emitOp(viewOf(graph, node), { hasStep: graphHasStep(graph), target });
}

/** Every node's kernels, by node id (undefined for leaves): the compile stage 'emit'. */
export type NodeKernels = readonly (EmittedOp | undefined)[];

export function emitKernels(graph: Graph, target: Target = DEFAULT_TARGET): NodeKernels {
  const hasStep = graphHasStep(graph);
  return graph.nodes.map((node) => (isLeafOp(node.op) ? undefined : emitOp(viewOf(graph, node), { hasStep, target })));
}

/**
 * Every kernel of the graph once, by key, each under a comment header naming its first user and
 * its launch count: the text of `rankfold compile --emit wgsl`.
 */
export function formatWgsl(graph: Graph, kernels: NodeKernels): string {
  const seen = new Map<string, string>();
  const users = new Map<string, number>();
  for (const node of graph.nodes) {
    for (const launch of kernels[node.id]?.launches ?? []) {
      users.set(launch.key, (users.get(launch.key) ?? 0) + 1);
      if (seen.has(launch.key)) continue;
      const who = `%${node.id} ${node.op}${node.label ? ` (${node.label})` : ''}`;
      seen.set(launch.key, `// ---- kernel ${launch.key} ---- first used by ${who}\n${launch.code}`);
    }
  }
  return [...seen.entries()]
    .map(([key, text]) => text.replace(`---- kernel ${key} ----`, `---- kernel ${key} ---- ${users.get(key)} launch(es);`))
    .join('\n');
}

/** formatWgsl of the graph's kernels for `target` (WebGPU's default 'gpu' target when omitted). */
export function emitWgsl(graph: Graph, target: Target = DEFAULT_TARGET): string {
  return formatWgsl(graph, emitKernels(graph, target));
}
