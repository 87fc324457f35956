// The shipped architectures (dsl-examples/<model_type>.rf) against transformers' semantics, without
// PyTorch: what each config makes of the model (checked model and graph), refusals by name, hub
// configs of real models read with nothing left unread, and one LoRA training step of every tiny
// architecture on WebGPU against the interpreter.
import { describe, expect, it } from 'vitest';
import { compile } from '../../../compiler/compile.ts';
import type { CheckedModel, Op } from '../../../compiler/check/model.ts';
import type { OpAttrs } from '../../../compiler/ir/ops.ts';
import { optimHyper } from '../../../compiler/optim/adamw.ts';
import { DEFAULT_ADAMW } from '../../../compiler/compile.ts';
import { ropeTables } from '../../../compiler/lower/rope.ts';
import { createExecutor } from '../../../runtime/exec/create.ts';
import { paramNames, type Executor } from '../../../runtime/exec/executor.ts';
import { InterpExecutor } from '../../../runtime/exec/interp-executor.ts';
import { targetFor } from '../../../runtime/device/target.ts';
import { initAdapterWeights } from '../../../runtime/adapters/init.ts';
import { feedTokens } from '../../../runtime/model/feeds.ts';
import { EXAMPLES_DIR, loadModelSpec, MODEL_TYPES, specForModelType } from '../../../runtime/model/load-spec.ts';
import { declaredKeys } from '../../../compiler/check/config-fields.ts';
import { parseSpec } from '../../../compiler/language/index.ts';
import type { ModelDecl } from '../../../compiler/language/ast.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBaseWeights, setWeights } from '../../../runtime/model/weights.ts';
import { TINY_CONFIGS, tinyArchitectures } from '../../helpers/architectures.ts';
import { gpuTest } from '../../helpers/gpu.ts';
import { HUB_CONFIGS } from './hub-configs.ts';

const load = (config: Record<string, unknown>, overrides?: Record<string, number | boolean | string>) =>
  loadModelSpec({ config, source: 'config.json' }, overrides ? { overrides } : {}).model;
const attentions = (m: CheckedModel) => m.ops.filter((o): o is Extract<Op, { op: 'attention' }> => o.op === 'attention');
const with_ = (base: Record<string, unknown>, patch: Record<string, unknown>) => ({ ...base, ...patch });

describe('shipped specs by model_type', () => {
  it('an unknown or missing model_type is an error naming the supported ones', () => {
    expect(() => specForModelType('gemma2', 'x/config.json')).toThrow(/x\/config.json: model_type "gemma2" is not supported \(supported: llama, qwen2, mistral, phi3, gemma, gpt2/);
    expect(() => specForModelType(undefined, 'x/config.json')).toThrow(/no "model_type"/);
    for (const t of MODEL_TYPES) expect(specForModelType(t)).toMatch(new RegExp(`dsl-examples/${t}\\.rf$`));
  });

  it('spec/architectures.md lists every config field each shipped spec reads, refuses or ignores', () => {
    const doc = readFileSync(join(EXAMPLES_DIR, '..', 'spec', 'architectures.md'), 'utf8');
    for (const t of MODEL_TYPES) {
      const decl = parseSpec(readFileSync(specForModelType(t), 'utf8'), t).spec!.decls.find((d) => d.kind === 'Model')! as ModelDecl;
      const keys = declaredKeys(decl);
      for (const key of [...keys.bound, ...keys.refused, ...keys.ignored]) {
        const rope = /^(rope_scaling|rope_parameters)\.(.+)$/.exec(key);
        const documented = doc.includes('`' + key + '`') || (rope !== null && doc.includes('`' + rope[2] + '`'));
        expect(documented, `${t}: ${key}`).toBe(true);
      }
    }
  });

  it('real hub configs are read entirely (every key bound, refused at its default, or ignored) with the published sizes', () => {
    for (const [name, { config, params }] of Object.entries(HUB_CONFIGS)) {
      const m = load(config);
      expect(m.unreadConfigKeys, name).toEqual([]);
      expect(m.counts.base, name).toBe(params);
    }
  });

  it('transformers 4.x (rope_theta + rope_scaling, legacy type) and 5.x (rope_parameters) spellings give the same RoPE', () => {
    const v4 = TINY_CONFIGS['llama']!;
    const { rope_theta: _t, rope_scaling: scaling, ...rest } = v4 as { rope_theta: number; rope_scaling: Record<string, unknown> };
    const v5 = { ...rest, rope_parameters: { ...scaling, rope_theta: 500000.0 } };
    const legacy = with_(v4, { rope_scaling: { ...scaling, rope_type: undefined, type: 'llama3' } });
    const rope = (c: Record<string, unknown>) => attentions(load(c))[0]!.rope;
    expect(rope(v4)).toEqual({ type: 'llama3', theta: 500000, dim: 8, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 });
    expect(rope(v5)).toEqual(rope(v4));
    expect(rope(legacy)).toEqual(rope(v4));
    // yarn without original_max_position_embeddings: transformers 5 takes max_position_embeddings.
    const yarn = rope(with_(v4, { rope_scaling: { rope_type: 'yarn', factor: 4.0 } }));
    expect(yarn).toEqual({ type: 'yarn', theta: 500000, dim: 8, factor: 4, originalMaxPositions: 64, maxPositions: 64, truncate: true });
  });

  it('config fields that change the math are honoured: biases, tying, kv heads and head_dim defaults, activations', () => {
    const llama = load(with_(TINY_CONFIGS['llama']!, { attention_bias: true, mlp_bias: true }));
    expect(llama.weights.filter((w) => w.name.endsWith('.bias')).map((w) => w.name.replace(/layers\.\d+\./, ''))).toContain('model.self_attn.o_proj.bias');
    expect(llama.weights.filter((w) => w.name.endsWith('.bias'))).toHaveLength(2 * 7);
    // Qwen2: q, k, v biases only.
    const qwen = load(TINY_CONFIGS['qwen2']!);
    expect(qwen.weights.filter((w) => w.name.startsWith('model.layers.0.') && w.name.endsWith('.bias')).map((w) => w.name)).toEqual(
      ['q_proj', 'k_proj', 'v_proj'].map((p) => `model.layers.0.self_attn.${p}.bias`));
    expect(qwen.weights.find((w) => w.name === 'lm_head.weight')!.tiedTo).toBe('model.embed_tokens.weight');
    // num_key_value_heads: missing -> the config class's default (qwen2 32, mistral 8); null -> heads.
    const mistral = TINY_CONFIGS['mistral']!;
    expect(attentions(load(with_(mistral, { num_key_value_heads: undefined, num_attention_heads: 8 })))[0]!.kvHeads).toBe(8);
    expect(attentions(load(with_(mistral, { num_key_value_heads: null })))[0]!.kvHeads).toBe(4);
    expect(attentions(load(with_(TINY_CONFIGS['qwen2']!, { num_key_value_heads: null })))[0]!.kvHeads).toBe(4);
    expect(attentions(load(mistral))[0]!.headDim).toBe(12);
    // Gemma: hidden_activation wins over the legacy hidden_act.
    const acts = (m: CheckedModel) => m.ops.filter((o) => o.op === 'activation').map((o) => (o as { fn: string }).fn);
    expect(acts(load(TINY_CONFIGS['gemma']!))).toEqual(['gelu_tanh', 'gelu_tanh']);
    expect(acts(load(with_(TINY_CONFIGS['gemma']!, { hidden_activation: undefined })))).toEqual(['gelu', 'gelu']);
  });

  it('sliding windows: mistral on every layer (null: none, missing: 4096), qwen2 per use_sliding_window, max_window_layers and layer_types', () => {
    const windows = (c: Record<string, unknown>) => attentions(load(c)).map((a) => a.window);
    expect(windows(TINY_CONFIGS['mistral']!)).toEqual([3, 3]);
    expect(windows(with_(TINY_CONFIGS['mistral']!, { sliding_window: null }))).toEqual([null, null]);
    expect(windows(with_(TINY_CONFIGS['mistral']!, { sliding_window: undefined }))).toEqual([4096, 4096]);
    const qwen = TINY_CONFIGS['qwen2']!;
    expect(windows(qwen)).toEqual([null, 3]);
    expect(windows(with_(qwen, { use_sliding_window: false }))).toEqual([null, null]);
    expect(windows(with_(qwen, { layer_types: ['sliding_attention', 'full_attention'] }))).toEqual([3, null]);
    expect(windows(with_(qwen, { use_sliding_window: false, layer_types: ['sliding_attention', 'sliding_attention'] }))).toEqual([null, null]);
    expect(windows(with_(TINY_CONFIGS['phi3']!, {}))).toEqual([5, 5]);
  });

  it("phi3: qkv_proj split q, k, v with GQA sizes, gate_up_proj's first half is the gate, partial rotary and longrope", () => {
    const m = load(TINY_CONFIGS['phi3']!);
    const slices = m.ops.filter((o) => o.op === 'slice').slice(0, 5).map((o) => [(o as { start: number }).start, (o as { end: number }).end]);
    // q [0, 32), k [32, 48), v [48, 64) of qkv; then gate [0, 48) and up [48, 96) of gate_up.
    expect(slices).toEqual([[0, 32], [32, 48], [48, 64], [0, 48], [48, 96]]);
    const mul = m.ops.find((o) => o.op === 'mul') as { a: number; b: number };
    const act = m.ops.find((o) => o.op === 'activation') as { x: number; out: number };
    expect(act.x).toBe(m.ops.filter((o) => o.op === 'slice')[3]!.out); // silu(gate)
    expect(mul.b).toBe(act.out);
    const rope = attentions(m)[0]!.rope!;
    expect(rope).toMatchObject({ type: 'longrope', dim: 4, originalMaxPositions: 64, maxPositions: 256, shortFactor: [1, 1.5], longFactor: [2, 4] });
    expect(m.lora.map((l) => l.module)).toEqual(['model.layers.0.self_attn.qkv_proj', 'model.layers.1.self_attn.qkv_proj']);
    expect(m.lora[0]!.outFeatures).toBe(64);
  });

  it('gemma: embedding times sqrt(hidden_size) rounded to f32, norms by 1 + weight', () => {
    const graph = compile(load(TINY_CONFIGS['gemma']!), { mode: 'eval', batch: 1, seq: 4, stopAfter: 'lower' }).graph;
    const scale = graph.nodes.find((n) => n.op === 'scale')!;
    expect((scale.attrs as OpAttrs['scale']).c).toBe(Math.fround(Math.sqrt(32)));
    expect(graph.nodes[scale.inputs[0]!]!.op).toBe('embedding');
    for (const norm of graph.nodes.filter((n) => n.op === 'rmsnorm')) {
      const w = graph.nodes[norm.inputs[1]!]!;
      expect(w.op).toBe('add');
      expect(graph.nodes[w.inputs[0]!]!.op).toBe('param');
      expect(graph.nodes[w.inputs[1]!]!.attrs).toMatchObject({ value: 1 });
    }
  });

  it('RoPE tables are literals of the compiled length: dynamic and longrope change past their thresholds', () => {
    const freqs = (m: CheckedModel, seq: number) =>
      (compile(m, { mode: 'eval', batch: 1, seq, stopAfter: 'lower' }).graph.nodes.find((n) => n.op === 'literal')!.attrs as OpAttrs['literal']).data;
    const phi3 = load(TINY_CONFIGS['phi3']!);
    const r = attentions(phi3)[0]!.rope!;
    expect(freqs(phi3, 64)).toEqual(Array.from(ropeTables(r, 64).invFreq));
    expect(freqs(phi3, 65)).toEqual(Array.from(ropeTables(r, 65).invFreq));
    expect(freqs(phi3, 65)).not.toEqual(freqs(phi3, 64));
    // The attention factor of longrope (256 / 64 = 4) scales every rope node.
    const graph = compile(phi3, { mode: 'eval', batch: 1, seq: 8, stopAfter: 'lower' }).graph;
    for (const n of graph.nodes.filter((x) => x.op === 'rope')) expect((n.attrs as OpAttrs['rope']).scale).toBe(Math.fround(Math.sqrt(1 + Math.log(4) / Math.log(64))));
    const dynamic = load(with_(TINY_CONFIGS['llama']!, { rope_scaling: { rope_type: 'dynamic', factor: 2.0 } }));
    expect(freqs(dynamic, 64)).toEqual(Array.from(ropeTables({ type: 'default', theta: 500000, dim: 8 }, 1).invFreq));
    expect(freqs(dynamic, 65)).not.toEqual(freqs(dynamic, 64));
  });

  it('fields the specs cannot compute are refused by name (E0408), as are unsupported RoPE types and incomplete settings', () => {
    const fails = (c: Record<string, unknown>, re: RegExp) => expect(() => load(c)).toThrow(re);
    fails(with_(TINY_CONFIGS['gemma']!, { final_logit_softcapping: 30.0 }), /E0408.*'final_logit_softcapping' is 30 \(int\).*must be absent or null/);
    fails(with_(TINY_CONFIGS['gemma']!, { query_pre_attn_scalar: 256 }), /E0408.*query_pre_attn_scalar/);
    fails(with_(TINY_CONFIGS['gemma']!, { use_bidirectional_attention: true }), /E0408.*use_bidirectional_attention.*absent, null or false/);
    fails(with_(TINY_CONFIGS['llama']!, { partial_rotary_factor: 0.5 }), /E0408.*partial_rotary_factor.*absent, null or 1/);
    fails(with_(TINY_CONFIGS['mistral']!, { rope_parameters: { rope_type: 'default', rope_theta: 1e4, partial_rotary_factor: 0.5 } }), /E0408.*rope_parameters.partial_rotary_factor/);
    fails(with_(TINY_CONFIGS['qwen2']!, { attention_dropout: 0.1 }), /E0408.*attention_dropout/);
    fails(with_(TINY_CONFIGS['phi3']!, { resid_pdrop: 0.1 }), /E0408.*resid_pdrop/);
    fails(with_(TINY_CONFIGS['llama']!, { rope_scaling: { rope_type: 'proportional', factor: 2.0 } }), /E0404.*RoPE type 'proportional' \(rope_type\) is not supported; supported: default, linear, dynamic, yarn, llama3, longrope/);
    fails(with_(TINY_CONFIGS['llama']!, { rope_scaling: { rope_type: 'llama3', factor: 8.0 } }), /RoPE type 'llama3' needs low_freq_factor/);
    fails(with_(TINY_CONFIGS['llama']!, { hidden_act: 'xielu' }), /E0404.*unknown activation 'xielu'/);
    fails(with_(TINY_CONFIGS['phi3']!, { rope_scaling: { type: 'su', short_factor: [1.0], long_factor: [1.0, 2.0] } }), /short_factor has 1 values, but the rotary dimension 4 needs 2/);
    fails(with_(TINY_CONFIGS['phi3']!, { partial_rotary_factor: 0.375, rope_scaling: null }), /E0502.*even rotary dimension.*partial_rotary_factor 0.375 of head_dim 8 \(3 features\)/);
    // The message names the spec and the config it was checked against.
    fails(with_(TINY_CONFIGS['gemma']!, { attn_logit_softcapping: 50.0 }), /gemma\.rf does not fit config\.json/);
  });
});

describe('a LoRA training step of every tiny architecture', () => {
  /** One train step from the same weights: loss, logits and adapter gradients. */
  async function step(exec: Executor, model: CheckedModel, ids: Int32Array, batch: number, seq: number) {
    const base = initBaseWeights(model, 11);
    setWeights(exec, base);
    setWeights(exec, initAdapterWeights(model, base, 12));
    exec.setInput('optim', optimHyper(1e-3, 1, DEFAULT_ADAMW));
    feedTokens(exec, ids, batch, seq, ids);
    exec.run();
    const grads = new Map<string, Float32Array>();
    for (const name of paramNames(exec.graph, ['adapter'])) grads.set(name, await exec.readGrad(name));
    return { loss: (await exec.read('loss'))[0]!, logits: await exec.read('logits'), grads };
  }

  gpuTest('WebGPU matches the interpreter (loss, logits, every adapter gradient)', async (gpu) => {
    const [batch, seq] = [2, 7];
    const ids = Int32Array.from({ length: batch * seq }, (_, i) => (i * 13 + 5) % 64);
    for (const [name, model] of Object.entries(tinyArchitectures())) {
      const opts = { mode: 'train' as const, batch, seq };
      const g = await step(await createExecutor(compile(model, { ...opts, target: targetFor(gpu) }), { backend: 'webgpu', gpu }), model, ids, batch, seq);
      const c = await step(new InterpExecutor(compile(model, { ...opts, stopAfter: 'passes' }).graph, 'f64'), model, ids, batch, seq);
      expect(Math.abs(g.loss - c.loss), `${name} loss`).toBeLessThan(1e-4);
      let worst = 0;
      for (let i = 0; i < c.logits.length; i++) worst = Math.max(worst, Math.abs(g.logits[i]! - c.logits[i]!));
      expect(worst, `${name} logits`).toBeLessThan(1e-4);
      expect(g.grads.size, name).toBeGreaterThan(0);
      for (const [p, want] of c.grads) {
        const got = g.grads.get(p)!;
        const scale = Math.max(...Array.from(want, Math.abs));
        let err = 0;
        for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
        expect(err / (scale || 1), `${name} grad ${p}`).toBeLessThan(1e-3);
      }
    }
  });
});
