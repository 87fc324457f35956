// WGSL code generation entry points: emit one node as kernel launches, and print every kernel of
// a graph (deduplicated by pipeline key) for `rankfold compile --emit wgsl`.
import type { Graph, Node } from '../ir/types.ts';
import type { OpAttrs } from '../ir/ops.ts';
import type { EmittedOp, OpView } from './kernel.ts';
import { DEFAULT_TARGET, type Target } from '../target.ts';
import * as ew from './elementwise.ts';
import * as mm from './matmul.ts';
import * as rd from './reduce.ts';
import * as at from './attention.ts';

export type { Launch, EmittedOp, OpView, Binding, BufferRef, Uniform } from './kernel.ts';
export type { Target } from '../target.ts';
export { foldWorkgroups } from './kernel.ts';

export interface EmitOptions {
  /** Whether the graph has an input named "step" (dropout reads it). */
  hasStep?: boolean;
  /** What to emit for (default DEFAULT_TARGET, a 'gpu' with WebGPU's default limits). */
  target?: Target;
}

/** Ops that run no kernel: leaves hold uploaded data. */
export const LEAF_OPS = new Set(['input', 'param', 'state']);

/** Emits one op (given its operand types) as launches; leaves emit nothing. */
export function emitOp(v: OpView, options: EmitOptions = {}): EmittedOp {
  const a = v.attrs as never;
  switch (v.op) {
    case 'input': case 'param': case 'state': return { launches: [], scratch: [] };
    case 'const': return ew.emitConst({ ...v, attrs: a as OpAttrs['const'] });
    case 'unary': return ew.emitUnary({ ...v, attrs: a });
    case 'unary_grad': return ew.emitUnaryGrad({ ...v, attrs: a });
    case 'add': case 'sub': case 'mul': case 'div': return ew.emitBinary(v);
    case 'scale': return ew.emitScale(v, (a as OpAttrs['scale']).c);
    case 'stop_gradient': return ew.emitScale(v, 1);
    case 'dropout': return ew.emitDropout({ ...v, attrs: a }, options.hasStep ?? false);
    case 'matmul': return mm.emitMatmul({ ...v, attrs: a }, options.target ?? DEFAULT_TARGET);
    case 'lowrank_matmul': return mm.emitLowrankMatmul({ ...v, attrs: a }, options.target ?? DEFAULT_TARGET);
    case 'rmsnorm': return rd.emitRmsnorm({ ...v, attrs: a });
    case 'rmsnorm_grad': return rd.emitRmsnormGrad({ ...v, attrs: a });
    case 'rmsnorm_grad_w': return rd.emitRmsnormGradW({ ...v, attrs: a });
    case 'layernorm': return rd.emitLayernorm({ ...v, attrs: a });
    case 'layernorm_grad': return rd.emitLayernormGrad({ ...v, attrs: a });
    case 'layernorm_grad_w': return rd.emitLayernormGradW({ ...v, attrs: a });
    case 'sum_to': return rd.emitSumTo({ ...v, attrs: a });
    case 'row_norm': return rd.emitRowNorm(v);
    case 'row_norm_grad': return rd.emitRowNormGrad(v);
    case 'rope': return ew.emitRope({ ...v, attrs: a });
    case 'attention': return at.emitAttention({ ...v, attrs: a }, options.target ?? DEFAULT_TARGET);
    case 'attention_stats': return at.emitAttentionStats({ ...v, attrs: a }, options.target ?? DEFAULT_TARGET);
    case 'attention_grad': return at.emitAttentionGrad({ ...v, attrs: a }, options.target ?? DEFAULT_TARGET);
    case 'cache_update': return ew.emitCacheUpdate(v);
    case 'grad_accumulate': return ew.emitGradAccumulate(v);
    case 'slice': return ew.emitSlice({ ...v, attrs: a });
    case 'slice_grad': return ew.emitSliceGrad({ ...v, attrs: a });
    case 'transpose': return ew.emitTranspose(v);
    case 'embedding': return ew.emitEmbedding(v);
    case 'embedding_grad': return rd.emitEmbeddingGrad({ ...v, attrs: a });
    case 'cross_entropy': return rd.emitCrossEntropy({ ...v, attrs: a });
    case 'cross_entropy_grad': return rd.emitCrossEntropyGrad({ ...v, attrs: a });
    case 'sumsq': return rd.emitSumsq(v);
    case 'clip_coef': return ew.emitClipCoef({ ...v, attrs: a });
    case 'adamw': return ew.emitAdamw({ ...v, attrs: a });
    default: throw new Error(`codegen: no WGSL kernel for op "${v.op}"`);
  }
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

export function emitNode(graph: Graph, node: Node, target?: Target): EmittedOp {
  return emitOp(viewOf(graph, node), { hasStep: graphHasStep(graph), ...(target ? { target } : {}) });
}

/**
 * Every kernel of the graph once, by key, each under a comment header naming its first user, for
 * the given target ('gpu' by default; GpuProgram picks 'cpu' on software adapters such as lavapipe).
 */
export function emitWgsl(graph: Graph, target?: Target): string {
  const seen = new Map<string, string>();
  const users = new Map<string, number>();
  for (const node of graph.nodes) {
    if (LEAF_OPS.has(node.op)) continue;
    for (const launch of emitNode(graph, node, target).launches) {
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
