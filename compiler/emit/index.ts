// WGSL code generation entry points: lower one node to kernel launches, and print every kernel of
// a graph (deduplicated by pipeline key) for `rankfold compile --emit wgsl`.
import type { Graph, Node } from '../ir/types.ts';
import type { OpAttrs } from '../ir/ops.ts';
import type { Lowered, OpView, Target } from './kernel.ts';
import * as ew from './elementwise.ts';
import * as mm from './matmul.ts';
import * as rd from './reduce.ts';
import * as at from './attention.ts';

export type { Launch, Lowered, OpView, Binding, BufferRef, Uniform, Target } from './kernel.ts';
export { foldWorkgroups } from './kernel.ts';

export interface LowerOptions {
  /** Whether the graph has an input named "step" (dropout reads it). */
  hasStep?: boolean;
  /** What to tune for (default 'gpu'); GpuProgram passes 'cpu' on software adapters. */
  target?: Target;
}

/** Ops that run no kernel: leaves hold uploaded data. */
export const LEAF_OPS = new Set(['input', 'param', 'state']);

/** Lowers one op (given its operand types) to launches; leaves lower to nothing. */
export function lowerOp(v: OpView, options: LowerOptions = {}): Lowered {
  const a = v.attrs as never;
  switch (v.op) {
    case 'input': case 'param': case 'state': return { launches: [], scratch: [] };
    case 'const': return ew.lowerConst({ ...v, attrs: a as OpAttrs['const'] });
    case 'unary': return ew.lowerUnary({ ...v, attrs: a });
    case 'unary_grad': return ew.lowerUnaryGrad({ ...v, attrs: a });
    case 'add': case 'sub': case 'mul': case 'div': return ew.lowerBinary(v);
    case 'scale': return ew.lowerScale(v, (a as OpAttrs['scale']).c);
    case 'stop_gradient': return ew.lowerScale(v, 1);
    case 'dropout': return ew.lowerDropout({ ...v, attrs: a }, options.hasStep ?? false);
    case 'matmul': return mm.lowerMatmul({ ...v, attrs: a }, options.target);
    case 'lowrank_matmul': return mm.lowerLowrankMatmul({ ...v, attrs: a }, options.target);
    case 'rmsnorm': return rd.lowerRmsnorm({ ...v, attrs: a });
    case 'rmsnorm_grad': return rd.lowerRmsnormGrad({ ...v, attrs: a });
    case 'rmsnorm_grad_w': return rd.lowerRmsnormGradW({ ...v, attrs: a });
    case 'layernorm': return rd.lowerLayernorm({ ...v, attrs: a });
    case 'layernorm_grad': return rd.lowerLayernormGrad({ ...v, attrs: a });
    case 'layernorm_grad_w': return rd.lowerLayernormGradW({ ...v, attrs: a });
    case 'sum_to': return rd.lowerSumTo({ ...v, attrs: a });
    case 'row_norm': return rd.lowerRowNorm(v);
    case 'row_norm_grad': return rd.lowerRowNormGrad(v);
    case 'rope': return ew.lowerRope({ ...v, attrs: a });
    case 'attention': return at.lowerAttention({ ...v, attrs: a }, options.target);
    case 'attention_stats': return at.lowerAttentionStats({ ...v, attrs: a }, options.target);
    case 'attention_grad': return at.lowerAttentionGrad({ ...v, attrs: a }, options.target);
    case 'cache_update': return ew.lowerCacheUpdate(v);
    case 'grad_accumulate': return ew.lowerGradAccumulate(v);
    case 'slice': return ew.lowerSlice({ ...v, attrs: a });
    case 'slice_grad': return ew.lowerSliceGrad({ ...v, attrs: a });
    case 'transpose': return ew.lowerTranspose(v);
    case 'embedding': return ew.lowerEmbedding(v);
    case 'embedding_grad': return rd.lowerEmbeddingGrad({ ...v, attrs: a });
    case 'cross_entropy': return rd.lowerCrossEntropy({ ...v, attrs: a });
    case 'cross_entropy_grad': return rd.lowerCrossEntropyGrad({ ...v, attrs: a });
    case 'sumsq': return rd.lowerSumsq(v);
    case 'clip_coef': return ew.lowerClipCoef({ ...v, attrs: a });
    case 'adamw': return ew.lowerAdamw({ ...v, attrs: a });
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

export function lowerNode(graph: Graph, node: Node, target?: Target): Lowered {
  return lowerOp(viewOf(graph, node), { hasStep: graphHasStep(graph), ...(target ? { target } : {}) });
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
    for (const launch of lowerNode(graph, node, target).launches) {
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
