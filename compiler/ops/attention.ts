// Attention: rotary embeddings, softmax attention (flash-style, recomputed in the backward), its
// backward statistics and gradients, and the in-place KV-cache write of decoding graphs.
import * as grad from '../autodiff/rules/attention.ts';
import * as emit from '../emit/attention.ts';
import { emitCacheUpdate } from '../emit/elementwise.ts';
import { emitRope } from '../emit/rope.ts';
import * as interp from '../ir/interp/linalg.ts';
import { shapeRules } from '../ir/ops.ts';
import type { OpTable } from './entry.ts';

export type AttentionOp = 'rope' | 'attention' | 'attention_stats' | 'attention_grad' | 'cache_update';

export const attentionOps: OpTable<AttentionOp> = {
  rope: { family: 'attention', shape: shapeRules.rope, grad: grad.rope, interp: interp.rope, emit: emitRope },
  attention: { family: 'attention', shape: shapeRules.attention, grad: grad.attention, interp: interp.attention, emit: (v, c) => emit.emitAttention(v, c.target) },
  attention_stats: {
    family: 'attention', shape: shapeRules.attention_stats, grad: null, interp: interp.attentionStats, emit: (v, c) => emit.emitAttentionStats(v, c.target),
  },
  attention_grad: {
    family: 'attention', shape: shapeRules.attention_grad, grad: null, interp: interp.attentionGrad, emit: (v, c) => emit.emitAttentionGrad(v, c.target),
  },
  cache_update: { family: 'attention', shape: shapeRules.cache_update, grad: null, interp: interp.cacheUpdate, emit: emitCacheUpdate },
};
