// A tiny Llama-style LoRA model built directly with the GraphBuilder (embedding, RMSNorm, q/v LoRA,
// RoPE, grouped-query causal attention, SwiGLU MLP, tied-free LM head, cross-entropy), shared by the
// autodiff, optimizer, pass and memory-plan tests.
import { defaultInvFreq } from '../../../compiler/lower/rope.ts';
import { GraphBuilder, type Value } from '../../../compiler/ir/builder.ts';
import type { ParamRole } from '../../../compiler/ir/types.ts';
import type { Shape } from '../../../compiler/ir/types.ts';
import { randn, rng } from './gradcheck.ts';

export const dims = { B: 1, T: 3, V: 7, D: 8, heads: 2, kvHeads: 1, headDim: 4, F: 6, r: 2, alpha: 4 };

export interface TinyModel {
  b: GraphBuilder;
  loss: Value;
  params: Record<string, Float64Array>;
  inputs: { input_ids: Int32Array; labels: Int32Array };
  shapes: Record<string, Shape>;
}

export function tinyLlama(options: { lora?: boolean; dropout?: number; layers?: number } = {}): TinyModel {
  const { B, T, V, D, heads, kvHeads, headDim, F, r, alpha } = dims;
  const lora = options.lora ?? true;
  const b = new GraphBuilder();
  const shapes: Record<string, Shape> = {};
  const P = (name: string, shape: Shape, role: ParamRole = 'frozen'): Value => {
    shapes[name] = shape;
    return b.param(name, shape, role);
  };
  const ids = b.input('input_ids', 'i32', [B, T]);
  const labels = b.input('labels', 'i32', [B, T]);
  if (options.dropout) b.input('step', 'i32', [1]);
  const linear = (x: Value, name: string, out: number, inp: number, adapted: boolean): Value => {
    const y = b.matmul(x, P(`${name}.weight`, [out, inp]), true, name);
    if (!adapted || !lora) return y;
    const xd = b.dropout(x, options.dropout ?? 0, 17);
    const s = b.matmul(xd, P(`${name}.lora_A.weight`, [r, inp], 'adapter'), true, `${name}.lora_A`);
    const l = b.matmul(s, P(`${name}.lora_B.weight`, [out, r], 'adapter'), true, `${name}.lora_B`);
    return b.add(y, b.scale(l, alpha / r), `${name}.out`);
  };
  let h = b.embedding(P('embed_tokens.weight', [V, D]), ids, 'embed');
  for (let i = 0; i < (options.layers ?? 1); i++) {
    const pre = `layers.${i}`;
    const x = b.rmsnorm(h, P(`${pre}.input_layernorm.weight`, [D]), 1e-5);
    const invFreq = b.literal('rope.inv_freq', defaultInvFreq(10000, headDim));
    const q = b.rope(linear(x, `${pre}.q_proj`, heads * headDim, D, true), invFreq, { heads, headDim });
    const k = b.rope(linear(x, `${pre}.k_proj`, kvHeads * headDim, D, false), invFreq, { heads: kvHeads, headDim });
    const v = linear(x, `${pre}.v_proj`, kvHeads * headDim, D, true);
    const a = b.attention(q, k, v, { heads, kvHeads, headDim, scale: 1 / Math.sqrt(headDim), causal: true });
    h = b.add(h, linear(a, `${pre}.o_proj`, D, heads * headDim, false));
    const x2 = b.rmsnorm(h, P(`${pre}.post_attention_layernorm.weight`, [D]), 1e-5);
    const gate = b.unary('silu', linear(x2, `${pre}.gate_proj`, F, D, false));
    const up = linear(x2, `${pre}.up_proj`, F, D, false);
    h = b.add(h, linear(b.mul(gate, up), `${pre}.down_proj`, D, F, false));
  }
  const logits = linear(b.rmsnorm(h, P('norm.weight', [D]), 1e-5), 'lm_head', V, D, false);
  b.output('logits', logits);
  const loss = b.crossEntropy(logits, labels);
  b.output('loss', loss);
  const rand = rng(42);
  const params = Object.fromEntries(Object.entries(shapes).map(([n, s]) => [n, randn(s, rand, n.includes('layernorm') || n === 'norm.weight' ? 0.2 : 0.5)]));
  for (const [n, p] of Object.entries(params)) if (n.includes('norm')) p.forEach((x, i) => (p[i] = 1 + x));
  return { b, loss, params, shapes, inputs: { input_ids: Int32Array.of(1, 5, 2), labels: Int32Array.of(5, 2, -100) } };
}
