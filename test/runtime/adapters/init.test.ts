// PEFT's inits (tuners/lora/layer.py): PiSSA and OLoRA start from the top of W and replace the
// base by the residual, so the adapted model starts equal to the base; a PiSSA adapter loads with
// the residual recomputed from the base, as PEFT's loader does. Embeddings: A = 0, B ~ N(0, 1).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { adapterWeights, readAdapterFromExecutor } from '../../../runtime/adapters/adapter-weights.ts';
import { applyPeftConfig } from '../../../runtime/adapters/apply-peft.ts';
import { initAdapterWeights } from '../../../runtime/adapters/init.ts';
import { mergeAdapter, stripAdapters } from '../../../runtime/adapters/merge-model.ts';
import { svd } from '../../../runtime/analysis/svd.ts';
import { InterpExecutor } from '../../../runtime/exec/interp-executor.ts';
import { readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { makePeftConfig, readAdapter, writeAdapter, type PeftConfig } from '../../../runtime/io/peft.ts';
import { compile } from '../../../compiler/compile.ts';
import { loadSpec, readConfigJson, specForModelType } from '../../../runtime/model/load-spec.ts';
import { readBaseWeights, setWeights, type WeightMap } from '../../../runtime/model/weights.ts';
import { conformanceCase, type ConformanceCase } from '../../helpers/conformance.ts';
import { maxDiff, interpLogits } from '../../helpers/logits.ts';

function setup(name: ConformanceCase, config: Partial<PeftConfig>) {
  const dir = conformanceCase(name);
  const hf = readConfigJson(join(dir, 'config.json'));
  const spec = loadSpec(specForModelType(String(hf['model_type'])), { config: hf });
  const model = applyPeftConfig(spec, makePeftConfig(config), 'test', { training: true });
  const base = readBaseWeights(spec, readSafetensorsFile(join(dir, 'model.safetensors')));
  const ids = readSafetensorsFile(join(dir, 'io.safetensors')).getInt32('input_ids');
  return { spec, model, base, ids };
}

const logits = (model: CheckedModel, weights: WeightMap[], ids: Int32Array) => interpLogits(model, weights, ids, 2, 12);

/** s·B·A, [out, in], float64. */
function sba(b: Float32Array, a: Float32Array, out: number, r: number, inF: number, s: number): Float64Array {
  const d = new Float64Array(out * inF);
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) for (let t = 0; t < r; t++) d[o * inF + i]! += s * b[o * r + t]! * a[t * inF + i]!;
  return d;
}

describe('PiSSA and OLoRA', () => {
  it('PiSSA on llama q_proj: s·B·A is the top-r SVD part of W, the base becomes the residual, the model starts as the base', async () => {
    const { model, base, ids } = setup('llama_qv_r4', { r: 4, lora_alpha: 2, target_modules: ['q_proj', 'v_proj'], init_lora_weights: 'pissa' });
    const init = initAdapterWeights(model, base, 1);
    const name = 'model.layers.0.self_attn.q_proj';
    const w = base.get(`${name}.weight`)!;
    const a = init.get(`${name}.lora_A.weight`)!;
    const b = init.get(`${name}.lora_B.weight`)!;
    const top = sba(b, a, 32, 4, 32, 0.5);
    const d = svd(w, 32, 32);
    const want = new Float64Array(32 * 32);
    for (let o = 0; o < 32; o++) for (let i = 0; i < 32; i++) for (let t = 0; t < 4; t++) want[o * 32 + i]! += d.u[o * 32 + t]! * d.s[t]! * d.vt[t * 32 + i]!;
    expect(maxDiff(top, want)).toBeLessThan(1e-5);
    // A = diag(√(S_r/s))·V_rᵀ: its rows have norms √(S_r/s).
    for (let t = 0; t < 4; t++) expect(Math.hypot(...a.slice(t * 32, (t + 1) * 32))).toBeCloseTo(Math.sqrt(d.s[t]! / 0.5), 4);
    const residual = init.get(`${name}.weight`)!;
    expect(maxDiff(Float64Array.from(residual, (v, i) => v + top[i]!), w)).toBeLessThan(1e-6);
    const plain = stripAdapters(model);
    expect(maxDiff(await logits(model, [base, init], ids), await logits(plain, [base], ids))).toBeLessThan(1e-5);
  });

  it('a trained PiSSA adapter loads with the residual recomputed from the base, and merges to W_res + s·B·A', async () => {
    const { spec, model, base } = setup('llama_qv_r4', { r: 2, lora_alpha: 4, target_modules: ['v_proj'], init_lora_weights: 'pissa' });
    const init = initAdapterWeights(model, base, 1);
    // "train": move B, then save as PEFT does (init_lora_weights stays "pissa" in the config)
    const trained = new Map(init);
    const bName = 'model.layers.1.self_attn.v_proj.lora_B.weight';
    trained.set(bName, init.get(bName)!.map((x, i) => x + 0.01 * Math.sin(i)));
    const exec = new InterpExecutor(compile(model, { mode: 'eval', batch: 1, seq: 4, stopAfter: 'passes' }).graph, 'f32');
    setWeights(exec, base);
    setWeights(exec, trained);
    const adapter = readAdapter(writeAdapter(await readAdapterFromExecutor(exec, model, makePeftConfig({ r: 2, lora_alpha: 4, target_modules: ['v_proj'], init_lora_weights: 'pissa' }))), 'pissa');
    expect(adapter.config.init_lora_weights).toBe('pissa');
    const loaded = adapterWeights(model, adapter, 'pissa', { base });
    expect(loaded.get('model.layers.1.self_attn.v_proj.weight')).toEqual(init.get('model.layers.1.self_attn.v_proj.weight'));
    const merged = mergeAdapter(spec, base, adapter, 'pissa').weights;
    const w = base.get('model.layers.1.self_attn.v_proj.weight')!;
    const delta = sba(trained.get(bName)!.map((x, i) => x - init.get(bName)![i]!), init.get('model.layers.1.self_attn.v_proj.lora_A.weight')!, 16, 2, 32, 2);
    expect(maxDiff(merged.get('model.layers.1.self_attn.v_proj.weight')!, Float64Array.from(w, (v, i) => v + delta[i]!))).toBeLessThan(1e-5);
    expect(() => adapterWeights(model, adapter, 'pissa')).toThrow(/pass the base weights/);
  });

  it('PiSSA on a GPT-2 Conv1D and OLoRA on a square one; OLoRA on a non-square Conv1D is refused (PEFT ignores fan_in_fan_out)', async () => {
    const pissa = setup('gpt2_cattn_r4', { r: 2, lora_alpha: 2, target_modules: ['c_attn'], fan_in_fan_out: true, init_lora_weights: 'pissa' });
    const p = initAdapterWeights(pissa.model, pissa.base, 1);
    expect(maxDiff(await logits(pissa.model, [pissa.base, p], pissa.ids), await logits(stripAdapters(pissa.model), [pissa.base], pissa.ids))).toBeLessThan(1e-5);
    const olora = setup('gpt2_cattn_r4', { r: 3, lora_alpha: 6, target_modules: ['attn.c_proj'], fan_in_fan_out: true, init_lora_weights: 'olora' });
    const o = initAdapterWeights(olora.model, olora.base, 1);
    const name = 'transformer.h.0.attn.c_proj';
    const a = o.get(`${name}.lora_A.weight`)!; // R[:r]: upper triangular
    for (let t = 0; t < 3; t++) for (let j = 0; j < t; j++) expect(a[t * 32 + j]).toBe(0);
    const b = o.get(`${name}.lora_B.weight`)!; // Q[:, :r]: orthonormal columns
    for (let x = 0; x < 3; x++) for (let y = 0; y < 3; y++) expect(Array.from({ length: 32 }, (_, i) => b[i * 3 + x]! * b[i * 3 + y]!).reduce((s, v) => s + v, 0)).toBeCloseTo(x === y ? 1 : 0, 5);
    // OLoRA subtracts s·Q_r·R_r from W as stored (no fan_in_fan_out transpose), as PEFT does.
    const qr = new Float64Array(32 * 32);
    for (let i = 0; i < 32; i++) for (let j = 0; j < 32; j++) for (let t = 0; t < 3; t++) qr[i * 32 + j]! += 2 * b[i * 3 + t]! * a[t * 32 + j]!;
    expect(maxDiff(Float64Array.from(o.get(`${name}.weight`)!, (v, i) => v + qr[i]!), olora.base.get(`${name}.weight`)!)).toBeLessThan(1e-6);
    const bad = setup('gpt2_cattn_r4', { r: 2, lora_alpha: 2, target_modules: ['c_attn'], fan_in_fan_out: true, init_lora_weights: 'olora' });
    expect(() => initAdapterWeights(bad.model, bad.base, 1)).toThrow(/OLoRA ignores fan_in_fan_out .* Conv1D weight \[32, 96\]/);
  });
});

describe('plain inits', () => {
  it("gaussian A ~ N(0, 1/r) and zero B; embeddings A = 0 and B ~ N(0, 1) whatever the init; lora_bias zero", () => {
    const { model, base } = setup('gpt2_cattn_r4', { r: 4, lora_alpha: 4, target_modules: ['c_fc', 'wte'], init_lora_weights: 'gaussian', fan_in_fan_out: true });
    const init = initAdapterWeights(model, base, 3);
    const a = init.get('transformer.h.0.mlp.c_fc.lora_A.weight')!;
    const std = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    expect(std).toBeGreaterThan(0.25 * 0.8);
    expect(std).toBeLessThan(0.25 * 1.2);
    expect(init.get('transformer.h.0.mlp.c_fc.lora_B.weight')!.every((v) => v === 0)).toBe(true);
    expect(init.get('transformer.wte.lora_embedding_A')!.every((v) => v === 0)).toBe(true);
    const eb = init.get('transformer.wte.lora_embedding_B')!;
    expect(Math.sqrt(eb.reduce((s, v) => s + v * v, 0) / eb.length)).toBeGreaterThan(0.7);
    const withBias = setup('gpt2_cattn_r4', { r: 2, lora_alpha: 2, target_modules: ['c_attn'], lora_bias: true, fan_in_fan_out: true });
    expect(initAdapterWeights(withBias.model, withBias.base, 1).get('transformer.h.0.attn.c_attn.lora_B.bias')!.every((v) => v === 0)).toBe(true);
    const random = setup('gpt2_cattn_r4', { r: 2, lora_alpha: 2, target_modules: ['c_attn'], lora_bias: true, fan_in_fan_out: true, init_lora_weights: false });
    expect(initAdapterWeights(random.model, random.base, 1).get('transformer.h.0.attn.c_attn.lora_B.bias')!.some((v) => v !== 0)).toBe(true);
  });
});
