// The gradient table: one entry per op. `null` marks ops that gradients never flow through: leaves
// (handled by the driver), the backward ops themselves (no second derivatives), the optimizer and
// the KV cache. Asking for a gradient through a `null` op is an error naming the op.
import type { OpName } from '../../ir/ops.ts';
import type { GradRule } from '../rule.ts';
import * as attn from './attention.ts';
import * as ew from './elementwise.ts';
import * as ix from './indexing.ts';
import * as la from './linalg.ts';
import * as nm from './norm.ts';

export const gradRules: { [K in OpName]: GradRule<K> | null } = {
  input: null,
  param: null,
  state: null,
  const: null,
  unary: ew.unary,
  unary_grad: null,
  add: ew.add,
  sub: ew.sub,
  mul: ew.mul,
  div: ew.div,
  scale: ew.scale,
  stop_gradient: ew.stopGradient,
  dropout: ew.dropout,
  matmul: la.matmul,
  lowrank_matmul: la.lowrankMatmul,
  rmsnorm: nm.rmsnorm,
  rmsnorm_grad: null,
  rmsnorm_grad_w: null,
  layernorm: nm.layernorm,
  layernorm_grad: null,
  layernorm_grad_w: null,
  sum_to: nm.sumTo,
  row_norm: nm.rowNorm,
  row_norm_grad: null,
  rope: attn.rope,
  attention: attn.attention,
  attention_stats: null,
  attention_grad: null,
  cache_update: null,
  slice: ix.slice,
  slice_grad: ix.sliceGrad,
  transpose: ix.transpose,
  grad_accumulate: null,
  embedding: ix.embedding,
  embedding_grad: null,
  cross_entropy: ix.crossEntropy,
  cross_entropy_grad: null,
  sumsq: nm.sumsq,
  clip_coef: null,
  adamw: null,
};
