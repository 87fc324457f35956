// End-to-end oracle check against HF transformers + PEFT (gpt2_cattn_r4): GPT-2 with Conv1D weights,
// biases, fused c_attn split by slice, learned positions, LayerNorm, gelu_new (tanh) and a tied head;
// LoRA on c_attn. Run fused (Conv1D + bias + adapter -> one lowrank_matmul) in the f32 interpreter.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { differentiate } from '../../compiler/autodiff/differentiate.ts';
import { GraphBuilder, type Value } from '../../compiler/ir/builder.ts';
import { interpret } from '../../compiler/ir/interp.ts';
import { appendAdamW, optimHyper } from '../../compiler/optim/adamw.ts';
import { pipeline } from '../../compiler/passes/pipeline.ts';
import { readSafetensors } from './st-lite.ts';
import { conformanceCase } from '../helpers/conformance.ts';

const dir = conformanceCase('gpt2_cattn_r4');

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
  }
  return err / scale;
}

describe('gpt2_cattn_r4 conformance (interpreter)', () => {
  it('matches HF/PEFT logits, loss, gradients and one AdamW step', () => {
    const cfg = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
    const acfg = JSON.parse(readFileSync(`${dir}/adapter/adapter_config.json`, 'utf8'));
    const expected = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8'));
    const weights = readSafetensors(`${dir}/model.safetensors`);
    const adapter = readSafetensors(`${dir}/adapter/adapter_model.safetensors`);
    const io = readSafetensors(`${dir}/io.safetensors`);
    const grads = readSafetensors(`${dir}/grads.safetensors`);
    const ids = io['input_ids']!;
    const [B, T] = ids.shape as [number, number];
    const D = cfg.n_embd as number;
    const H = cfg.n_head as number;
    const hd = D / H;
    const eps = cfg.layer_norm_epsilon as number;
    const scaling = acfg.lora_alpha / acfg.r;

    const b = new GraphBuilder();
    const params: Record<string, Float32Array> = {};
    const P = (name: string, role: 'frozen' | 'adapter' = 'frozen'): Value => {
      const t = role === 'frozen' ? weights[name] : adapter[name];
      params[name] = Float32Array.from(t!.data);
      return b.param(name, t!.shape, role);
    };
    const conv1d = (x: Value, mod: string, lora: boolean): Value => {
      const y = b.linear(x, P(`${mod}.weight`), P(`${mod}.bias`), true, mod);
      if (!lora) return y;
      const a = P(`base_model.model.${mod}.lora_A.weight`, 'adapter');
      const bb = P(`base_model.model.${mod}.lora_B.weight`, 'adapter');
      return b.add(y, b.scale(b.matmul(b.matmul(x, a, true), bb, true), scaling));
    };
    const inputIds = b.input('input_ids', 'i32', [B, T]);
    const labels = b.input('labels', 'i32', [B, T]);
    const wte = P('lm_head.weight'); // tied with transformer.wte.weight
    let h = b.add(b.embedding(wte, inputIds), b.slice(P('transformer.wpe.weight'), 0, 0, T));
    for (let l = 0; l < cfg.n_layer; l++) {
      const p = `transformer.h.${l}`;
      const x = b.layernorm(h, P(`${p}.ln_1.weight`), P(`${p}.ln_1.bias`), eps);
      const qkv = conv1d(x, `${p}.attn.c_attn`, true);
      const [q, k, v] = [0, 1, 2].map((i) => b.slice(qkv, 2, i * D, D)) as [Value, Value, Value];
      const att = b.attention(q, k, v, { heads: H, kvHeads: H, headDim: hd, scale: 1 / Math.sqrt(hd), causal: true });
      h = b.add(h, conv1d(att, `${p}.attn.c_proj`, false));
      const x2 = b.layernorm(h, P(`${p}.ln_2.weight`), P(`${p}.ln_2.bias`), eps);
      h = b.add(h, conv1d(b.unary('gelu_tanh', conv1d(x2, `${p}.mlp.c_fc`, false)), `${p}.mlp.c_proj`, false));
    }
    const logits = b.matmul(b.layernorm(h, P('transformer.ln_f.weight'), P('transformer.ln_f.bias'), eps), wte, true, 'lm_head');
    b.output('logits', logits);
    const loss = b.crossEntropy(logits, labels);
    b.output('loss', loss);
    differentiate(b.graph, loss);
    const { lr, betas, eps: aeps, weight_decay } = expected.adamw;
    const settings = { beta1: betas[0], beta2: betas[1], eps: aeps, weightDecay: weight_decay };
    appendAdamW(b.graph, settings);
    const g = pipeline(b.graph, { fuse: true, verify: true });
    const fusedBias = g.nodes.filter((n) => n.op === 'lowrank_matmul' && (n.attrs as { hasBias: boolean }).hasBias);
    expect(fusedBias.length).toBe(cfg.n_layer);

    const lab = new Int32Array(B * T).fill(-100);
    for (let r = 0; r < B; r++) for (let t = 0; t + 1 < T; t++) lab[r * T + t] = ids.data[r * T + t + 1]!;
    const state: Record<string, Float32Array> = {};
    for (const n of g.nodes) if (n.op === 'state') state[(n.attrs as { name: string }).name] = new Float32Array(n.type.shape.reduce((a, c) => a * c, 1));
    const inputs = { input_ids: ids.data as Int32Array, labels: lab, optim: optimHyper(lr, 1, settings) };
    const r = interpret(g, { params, state, inputs }, { precision: 'f32' });
    expect(maxRel(r.outputs['logits']!, io['logits']!.data)).toBeLessThan(1e-4);
    expect(Math.abs(r.outputs['loss']![0]! - expected.loss)).toBeLessThan(1e-4);
    for (const [name, t] of Object.entries(grads)) {
      expect(maxRel(r.grads[name.replace('.default.weight', '.weight')]!, t.data), name).toBeLessThan(1e-4);
    }
    const after = interpret(g, { params, state, inputs }, { precision: 'f32' });
    expect(maxRel(after.outputs['logits']!, io['logits_after_step']!.data)).toBeLessThan(1e-4);
    expect(Math.abs(after.outputs['loss']![0]! - expected.loss_after_step)).toBeLessThan(1e-4);
  });
});
