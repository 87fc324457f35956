// Adapters written the way PEFT writes them (PEFT's key names and config fields, tensors serialized
// here without Rankfold's writer) load and merge to the weights PEFT's merge_and_unload gives,
// computed here from PEFT's formulas (peft/tuners/lora/layer.py): Linear W + s·B·A, Conv1D
// W + (B·A)ᵀ·s, Embedding W + (B·A)ᵀ·s, lora_bias bias + s·lora_B.bias, DoRA m/‖W+ΔW‖·(W+ΔW),
// modules_to_save and trained biases replace the base. Fields that change the math and are not
// supported are refused by name; merge then unmerge gives the base back.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { serializeSafetensors } from '../../../runtime/io/safetensors.ts';
import { readAdapter, type Adapter } from '../../../runtime/io/peft.ts';
import { readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { applyPeftConfig } from '../../../runtime/adapters/apply-peft.ts';
import { mergeAdapter, unmergeAdapter } from '../../../runtime/adapters/merge-model.ts';
import { loadSpec, readConfigJson, specForModelType } from '../../../runtime/model/load-spec.ts';
import { readBaseWeights, type WeightMap } from '../../../runtime/model/weights.ts';
import { conformanceCase, type ConformanceCase } from '../../helpers/conformance.ts';
import { maxDiff } from '../../helpers/logits.ts';

const P = 'base_model.model.';

function base(name: ConformanceCase): { spec: CheckedModel; weights: WeightMap } {
  const dir = conformanceCase(name);
  const spec = loadSpec(specForModelType(String(readConfigJson(join(dir, 'config.json'))['model_type'])), { config: readConfigJson(join(dir, 'config.json')) });
  return { spec, weights: readBaseWeights(spec, readSafetensorsFile(join(dir, 'model.safetensors'))) };
}

const fill = (n: number, seed: number, scale = 0.1) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * scale);

/** adapter files as PEFT's save_pretrained writes them: raw keys, {"format": "pt"}. */
function peftFiles(config: Record<string, unknown>, tensors: Record<string, { shape: number[]; data: Float32Array }>): Adapter {
  const weights = serializeSafetensors(new Map(Object.entries(tensors)), { format: 'pt' });
  return readAdapter({ config: JSON.stringify({ peft_type: 'LORA', task_type: 'CAUSAL_LM', ...config }), weights }, 'peft-adapter');
}

/** s·B·A in float64, [out, in]. */
function ba(b: Float32Array, a: Float32Array, out: number, r: number, inF: number, s: number): Float64Array {
  const d = new Float64Array(out * inF);
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) for (let t = 0; t < r; t++) d[o * inF + i]! += s * b[o * r + t]! * a[t * inF + i]!;
  return d;
}

describe('adapters written by PEFT merge as PEFT merges them', () => {
  it('embedding LoRA (lora_embedding_A/B, no ".weight") on llama embed_tokens, with q_proj', () => {
    const { spec, weights } = base('llama_qv_r4');
    const r = 4;
    const embA = fill(r * 96, 1);
    const embB = fill(32 * r, 2);
    const qA = fill(r * 32, 3);
    const qB = fill(32 * r, 4);
    const ad = peftFiles({ r, lora_alpha: 8, target_modules: ['embed_tokens', 'q_proj'] }, {
      [`${P}model.embed_tokens.lora_embedding_A`]: { shape: [r, 96], data: embA },
      [`${P}model.embed_tokens.lora_embedding_B`]: { shape: [32, r], data: embB },
      ...Object.fromEntries([0, 1].flatMap((l) => [
        [`${P}model.layers.${l}.self_attn.q_proj.lora_A.weight`, { shape: [r, 32], data: qA }],
        [`${P}model.layers.${l}.self_attn.q_proj.lora_B.weight`, { shape: [32, r], data: qB }],
      ])),
    });
    const m = mergeAdapter(spec, weights, ad, 'peft-adapter');
    // get_delta_weight: transpose(B @ A, True) * scaling -> [vocab, dim].
    const d = ba(embB, embA, 32, r, 96, 2);
    const w0 = weights.get('model.embed_tokens.weight')!;
    const want = Float64Array.from(w0, (v, idx) => v + d[(idx % 32) * 96 + Math.floor(idx / 32)]!);
    expect(maxDiff(m.weights.get('model.embed_tokens.weight')!, want)).toBeLessThan(1e-6);
    const dq = ba(qB, qA, 32, r, 32, 2);
    const q0 = weights.get('model.layers.1.self_attn.q_proj.weight')!;
    expect(maxDiff(m.weights.get('model.layers.1.self_attn.q_proj.weight')!, Float64Array.from(q0, (v, i) => v + dq[i]!))).toBeLessThan(1e-6);
    expect(m.weights.get('model.layers.0.self_attn.v_proj.weight')).toBe(weights.get('model.layers.0.self_attn.v_proj.weight'));
  });

  it('lora_bias on a GPT-2 Conv1D (c_attn, fan_in_fan_out): W + (B·A)ᵀ·s and bias + s·lora_B.bias', () => {
    const { spec, weights } = base('gpt2_cattn_r4');
    const r = 2;
    const A = fill(r * 32, 5);
    const B = fill(96 * r, 6);
    const bias = fill(96, 7, 0.5);
    const ad = peftFiles({ r, lora_alpha: 6, target_modules: ['c_attn'], fan_in_fan_out: true, lora_bias: true }, Object.fromEntries([0, 1].flatMap((l) => [
      [`${P}transformer.h.${l}.attn.c_attn.lora_A.weight`, { shape: [r, 32], data: A }],
      [`${P}transformer.h.${l}.attn.c_attn.lora_B.weight`, { shape: [96, r], data: B }],
      [`${P}transformer.h.${l}.attn.c_attn.lora_B.bias`, { shape: [96], data: bias }],
    ])));
    const m = mergeAdapter(spec, weights, ad, 'peft-adapter');
    const d = ba(B, A, 96, r, 32, 3); // [out=96, in=32]
    const w0 = weights.get('transformer.h.0.attn.c_attn.weight')!; // Conv1D [in=32, out=96]
    expect(maxDiff(m.weights.get('transformer.h.0.attn.c_attn.weight')!, Float64Array.from(w0, (v, idx) => v + d[(idx % 96) * 32 + Math.floor(idx / 96)]!))).toBeLessThan(1e-6);
    const b0 = weights.get('transformer.h.0.attn.c_attn.bias')!;
    expect(maxDiff(m.weights.get('transformer.h.0.attn.c_attn.bias')!, Float64Array.from(b0, (v, i) => v + 3 * bias[i]!))).toBeLessThan(1e-6);
    // merge then unmerge gives the base back
    const back = unmergeAdapter(spec, m.weights, ad, 'peft-adapter').weights;
    for (const [name, w] of weights) expect(maxDiff(back.get(name)!, w), name).toBeLessThan(1e-6);
  });

  it('modules_to_save (base_model.model.lm_head.weight) and bias="all" (base_layer keys) replace the base', () => {
    const { spec, weights } = base('gpt2_cattn_r4');
    const head = { shape: [32], data: fill(32, 8) };
    const cattnBias = { shape: [96], data: fill(96, 9) };
    const r = 2;
    const ad = peftFiles({ r, lora_alpha: 2, target_modules: ['c_attn'], fan_in_fan_out: true, modules_to_save: ['ln_f'], bias: 'all' }, {
      ...Object.fromEntries([0, 1].flatMap((l) => [
        [`${P}transformer.h.${l}.attn.c_attn.lora_A.weight`, { shape: [r, 32], data: fill(r * 32, l) }],
        [`${P}transformer.h.${l}.attn.c_attn.lora_B.weight`, { shape: [96, r], data: new Float32Array(96 * r) }],
      ])),
      [`${P}transformer.ln_f.weight`]: head,
      [`${P}transformer.ln_f.bias`]: { shape: [32], data: fill(32, 10) },
      [`${P}transformer.h.0.attn.c_attn.base_layer.bias`]: cattnBias,
      [`${P}transformer.h.1.ln_1.bias`]: { shape: [32], data: fill(32, 11) },
      // bias="all" with modules_to_save also writes these; PEFT's loader never uses them.
      [`${P}transformer.ln_f.original_module.bias`]: { shape: [32], data: fill(32, 12) },
    });
    const m = mergeAdapter(spec, weights, ad, 'peft-adapter');
    expect(m.weights.get('transformer.ln_f.weight')).toEqual(head.data);
    expect(m.weights.get('transformer.h.0.attn.c_attn.bias')).toEqual(cattnBias.data);
    expect(m.weights.get('transformer.h.1.ln_1.bias')).toEqual(fill(32, 11));
    expect(m.adapted.weights.filter((w) => w.role === 'trainable').length).toBe(13 + 1); // every bias, and ln_f's weight
    // the trained values are gone from a merged model: unmerge refuses, naming them
    expect(() => unmergeAdapter(spec, m.weights, ad, 'peft-adapter')).toThrow(/replaces base tensors on merge \(transformer\./);
    // a modules_to_save copy must be in the file (PEFT's loader raises a KeyError)
    const missing = peftFiles({ r, lora_alpha: 2, target_modules: ['c_attn'], modules_to_save: ['ln_f'] }, Object.fromEntries([0, 1].flatMap((l) => [
      [`${P}transformer.h.${l}.attn.c_attn.lora_A.weight`, { shape: [r, 32], data: fill(r * 32, l) }],
      [`${P}transformer.h.${l}.attn.c_attn.lora_B.weight`, { shape: [96, r], data: new Float32Array(96 * r) }],
    ])));
    expect(() => mergeAdapter(spec, weights, missing, 'peft-adapter')).toThrow(/modules_to_save "transformer.ln_f" has no saved transformer.ln_f.weight/);
  });

  it('DoRA: the magnitude loads under both key forms; merged W = m/‖W + ΔW‖·(W + ΔW) per output row', () => {
    const { spec, weights } = base('llama_qv_r4');
    const r = 2;
    const A = fill(r * 32, 13);
    const B = fill(16 * r, 14);
    const mag = Float32Array.from({ length: 16 }, (_, i) => 1 + i / 16);
    for (const suffix of ['', '.weight']) {
      const ad = peftFiles({ r, lora_alpha: 4, target_modules: ['v_proj'], use_dora: true }, Object.fromEntries([0, 1].flatMap((l) => [
        [`${P}model.layers.${l}.self_attn.v_proj.lora_A.weight`, { shape: [r, 32], data: A }],
        [`${P}model.layers.${l}.self_attn.v_proj.lora_B.weight`, { shape: [16, r], data: B }],
        [`${P}model.layers.${l}.self_attn.v_proj.lora_magnitude_vector${suffix}`, { shape: [16], data: mag }],
      ])));
      const m = mergeAdapter(spec, weights, ad, 'peft-adapter');
      const w0 = weights.get('model.layers.0.self_attn.v_proj.weight')!;
      const d = ba(B, A, 16, r, 32, 2);
      const got = m.weights.get('model.layers.0.self_attn.v_proj.weight')!;
      for (let o = 0; o < 16; o++) {
        let ss = 0;
        for (let i = 0; i < 32; i++) ss += (w0[o * 32 + i]! + d[o * 32 + i]!) ** 2;
        for (let i = 0; i < 32; i++) expect(got[o * 32 + i]).toBeCloseTo((mag[o]! / Math.sqrt(ss)) * (w0[o * 32 + i]! + d[o * 32 + i]!), 6);
      }
      expect(() => unmergeAdapter(spec, m.weights, ad, 'peft-adapter')).toThrow(/DoRA adapter: its merge rescales/);
    }
  });

  it('plain LoRA and embedding LoRA: merge then unmerge returns the base', () => {
    const { spec, weights } = base('llama_qv_r4');
    const ad = peftFiles({ r: 3, lora_alpha: 5, use_rslora: true, target_modules: ['embed_tokens', 'o_proj'] }, {
      [`${P}model.embed_tokens.lora_embedding_A`]: { shape: [3, 96], data: fill(288, 15) },
      [`${P}model.embed_tokens.lora_embedding_B`]: { shape: [32, 3], data: fill(96, 16) },
      ...Object.fromEntries([0, 1].flatMap((l) => [
        [`${P}model.layers.${l}.self_attn.o_proj.lora_A.weight`, { shape: [3, 32], data: fill(96, 17 + l) }],
        [`${P}model.layers.${l}.self_attn.o_proj.lora_B.weight`, { shape: [32, 3], data: fill(96, 19 + l) }],
      ])),
    });
    const merged = mergeAdapter(spec, weights, ad, 'peft-adapter').weights;
    expect(maxDiff(merged.get('model.embed_tokens.weight')!, weights.get('model.embed_tokens.weight')!)).toBeGreaterThan(1e-3);
    const back = unmergeAdapter(spec, merged, ad, 'peft-adapter').weights;
    for (const [name, w] of weights) expect(maxDiff(back.get(name)!, w), name).toBeLessThan(1e-6);
  });

  it('lora_bias on a layer without a bias: PEFT refuses the merge', () => {
    const { spec, weights } = base('llama_qv_r4');
    const ad = peftFiles({ r: 2, lora_alpha: 2, target_modules: ['v_proj'], lora_bias: true }, Object.fromEntries([0, 1].flatMap((l) => [
      [`${P}model.layers.${l}.self_attn.v_proj.lora_A.weight`, { shape: [2, 32], data: fill(64, l) }],
      [`${P}model.layers.${l}.self_attn.v_proj.lora_B.weight`, { shape: [16, 2], data: fill(32, l) }],
      [`${P}model.layers.${l}.self_attn.v_proj.lora_B.bias`, { shape: [16], data: fill(16, l) }],
    ])));
    expect(() => mergeAdapter(spec, weights, ad, 'peft-adapter')).toThrow(/Impossible to merge LoRA with `lora_bias=True` because the base layer has no bias/);
  });
});

describe('adapter_config fields that change the math', () => {
  const cfg = (extra: Record<string, unknown>) => JSON.stringify({ peft_type: 'LORA', r: 2, target_modules: ['q_proj'], ...extra });
  const empty = serializeSafetensors(new Map(), { format: 'pt' });
  const read = (extra: Record<string, unknown>) => readAdapter({ config: cfg(extra), weights: empty }, 'ad');
  it.each([
    ['alora_invocation_tokens', [1, 2, 3]],
    ['trainable_token_indices', [5, 6]],
    ['target_parameters', ['experts.gate_up_proj']],
    ['layer_replication', [[0, 2], [1, 2]]],
    ['use_qalora', true],
    ['use_bdlora', { nblocks: 2 }],
    ['arrow_config', { top_k: 2 }],
    ['kasa_config', { rank: 2 }],
  ])('refuses %s by name', (field, value) => {
    expect(() => read({ [field]: value })).toThrow(new RegExp(`ad/adapter_config.json: "${field}" is .*Rankfold does not implement it`));
  });
  it('refuses other PEFT methods, and inits that need data or quantization', () => {
    expect(() => readAdapter({ config: JSON.stringify({ peft_type: 'IA3' }), weights: empty }, 'ad')).toThrow(/"peft_type" is "IA3"; Rankfold reads LoRA adapters/);
    expect(() => read({ init_lora_weights: 'loftq' })).toThrow(/"init_lora_weights" "loftq" is not supported: LoftQ/);
    expect(() => read({ init_lora_weights: 'corda' })).toThrow(/CorDA needs/);
    expect(() => read({ init_lora_weights: 'pissa_fast' })).toThrow(/should be 'pissa' or 'pissa_niter_\[number of iters\]'/);
    expect(() => read({ init_lora_weights: 'bogus' })).toThrow(/unknown initialization "bogus"/);
    expect(() => read({ task_type: 'NOT_A_TASK' })).toThrow(/"task_type" is "NOT_A_TASK"/);
    expect(() => read({ lora_bias: true, use_dora: true })).toThrow(/lora_bias=True is not supported for DoRA/);
    expect(() => read({ lora_bias: true, init_lora_weights: 'gaussian' })).toThrow(/lora_bias=True is only supported with init_lora_weights=True or False/);
    expect(() => read({ layers_pattern: 'layers' })).toThrow(/When `layers_pattern` is specified, `layers_to_transform` must also be specified/);
    expect(() => read({ target_modules: '.*q_proj', layers_pattern: 'layers', layers_to_transform: [0] })).toThrow(/`layers_to_transform` cannot be used when `target_modules` is a str/);
  });
  it('accepts fields that do not change the math here, and unknown future fields', () => {
    const c = read({ megatron_config: null, loftq_config: {}, eva_config: { rho: 2 }, qalora_group_size: 32, future_option: { x: 1 }, init_lora_weights: 'eva', velora_config: { rank: 4 } }).config;
    expect(c.future_option).toEqual({ x: 1 });
    // velora / monteclora change only training; eva only the init of A and B
    const { spec } = base('llama_qv_r4');
    expect(applyPeftConfig(spec, c).lora).toHaveLength(2);
    expect(() => applyPeftConfig(spec, c, 'ad', { training: true })).toThrow(/"velora_config" is .*for training/);
    expect(() => applyPeftConfig(spec, { ...c, velora_config: null }, 'ad', { training: true })).toThrow(/"init_lora_weights" "eva" is not supported: EVA needs/);
  });
});

describe('target selection as PEFT injects', () => {
  const { spec } = base('llama_qv_r4');
  const config = (extra: Record<string, unknown>) => readAdapter({ config: JSON.stringify({ peft_type: 'LORA', r: 2, ...extra }), weights: serializeSafetensors(new Map(), {}) }, 'ad').config;
  it('refuses containers and layers other than Linear, Conv1D, Embedding', () => {
    expect(() => applyPeftConfig(spec, config({ target_modules: ['self_attn'] }))).toThrow(/selects "model.layers.0.self_attn", a container of other modules/);
    expect(() => applyPeftConfig(spec, config({ target_modules: ['input_layernorm'] }))).toThrow(/selects "model.layers.0.input_layernorm", a rmsnorm layer/);
    expect(() => applyPeftConfig(spec, config({ target_modules: ['nope'] }))).toThrow(/match no module of the base model \(PEFT: "Target modules/);
    expect(() => applyPeftConfig(spec, config({ target_modules: ['q_proj'], exclude_modules: ['q_proj'] }))).toThrow(/no module was targeted/);
  });
  it('layers_to_transform / layers_pattern, exact names bypassing them, exclude_modules', () => {
    const pick = (extra: Record<string, unknown>) => applyPeftConfig(spec, config(extra)).lora.map((t) => t.module);
    expect(pick({ target_modules: ['q_proj', 'v_proj'], layers_to_transform: [1], layers_pattern: 'layers' })).toEqual(['model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']);
    expect(pick({ target_modules: ['q_proj', 'model.layers.0.self_attn.v_proj'], layers_to_transform: 1 })).toEqual(['model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj']);
    expect(pick({ target_modules: ['q_proj'], layers_to_transform: [0], layers_pattern: ['blocks', 'layers'] })).toEqual(['model.layers.0.self_attn.q_proj']);
    expect(pick({ target_modules: '.*_proj', exclude_modules: '.*(mlp|k_proj|o_proj).*' })).toEqual(['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']);
    // modules_to_save (and what is under it) never gets LoRA: PEFT's dot-bounded guard
    expect(pick({ target_modules: 'all-linear', modules_to_save: ['mlp'] })).toHaveLength(8);
  });
  it('a tied weight (GPT-2 lm_head = wte) cannot be a trained copy; ensure_weight_tying on a tied pair is refused', () => {
    const gpt2 = base('gpt2_cattn_r4').spec;
    const c = (extra: Record<string, unknown>) => readAdapter({ config: JSON.stringify({ peft_type: 'LORA', r: 2, ...extra }), weights: serializeSafetensors(new Map(), {}) }, 'ad').config;
    expect(() => applyPeftConfig(gpt2, c({ target_modules: ['c_attn'], modules_to_save: ['lm_head'] }))).toThrow(/modules_to_save includes "lm_head", whose weight is tied/);
    expect(() => applyPeftConfig(gpt2, c({ target_modules: ['wte', 'c_attn'], ensure_weight_tying: true }))).toThrow(/"ensure_weight_tying" is true and the tied pair/);
    expect(applyPeftConfig(gpt2, c({ target_modules: ['c_attn'], ensure_weight_tying: true })).lora).toHaveLength(2);
  });
  it('SEQ_CLS adds "classifier" and "score" to modules_to_save, as PeftModelForSequenceClassification', () => {
    const m = applyPeftConfig(spec, config({ target_modules: ['q_proj'], task_type: 'SEQ_CLS' }));
    expect(m.adapterOptions!.modulesToSave).toEqual(['classifier', 'score']);
  });
});
