// PEFT's add_weighted_adapter on adapter files: cat is exact (merging the combination equals
// merging both adapters in turn), svd is the best rank-r approximation of PEFT's target (which
// counts each scaling twice), linear has PEFT's cross terms; what cannot be combined is refused.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { combineAdapters, type CombineInput } from '../../../runtime/adapters/combine.ts';
import { mergeAdapter } from '../../../runtime/adapters/merge-model.ts';
import { makePeftConfig, readAdapter, writeAdapter, type Adapter, type LoraModuleWeights, type PeftConfig } from '../../../runtime/io/peft.ts';
import { readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { loadSpec, readConfigJson, specForModelType } from '../../../runtime/model/load-spec.ts';
import { readBaseWeights } from '../../../runtime/model/weights.ts';
import { svd } from '../../../runtime/analysis/svd.ts';
import { conformanceCase } from '../../helpers/conformance.ts';
import { maxDiff } from '../../helpers/logits.ts';

// Hash-like values (a sinusoid's matrices would have rank 2 and make the svd case trivial).
const fill = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => ((Math.sin(i * 12.9898 + seed * 78.233) * 43758.5453) % 1) * 0.4);

function lora(r: number, inF: number, outF: number, seed: number, kind: 'linear' | 'embedding' = 'linear'): LoraModuleWeights {
  return { kind, A: { shape: [r, inF], data: fill(r * inF, seed) }, B: { shape: [outF, r], data: fill(outF * r, seed + 50) } };
}

const Q = (l: number) => `model.layers.${l}.self_attn.q_proj`;
const V = (l: number) => `model.layers.${l}.self_attn.v_proj`;

/** Two adapters with different ranks, scalings and modules (only q_proj in common). */
function adapters(): { a: Adapter; b: Adapter } {
  const a: Adapter = {
    config: makePeftConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], rank_pattern: { v_proj: 2 } }),
    tensors: new Map([[Q(0), lora(4, 32, 32, 1)], [Q(1), lora(4, 32, 32, 2)], [V(0), lora(2, 32, 16, 3)], [V(1), lora(2, 32, 16, 4)]]),
    others: new Map(),
  };
  const b: Adapter = {
    config: makePeftConfig({ r: 2, lora_alpha: 3, use_rslora: true, target_modules: ['q_proj', 'embed_tokens'] }),
    tensors: new Map([[Q(0), lora(2, 32, 32, 5)], [Q(1), lora(2, 32, 32, 6)], ['model.embed_tokens', lora(2, 96, 32, 7, 'embedding')]]),
    others: new Map(),
  };
  // Through the file format, as the CLI reads them.
  return { a: readAdapter(writeAdapter(a), 'a'), b: readAdapter(writeAdapter(b), 'b') };
}

function setup() {
  const dir = conformanceCase('llama_qv_r4');
  const config = readConfigJson(join(dir, 'config.json'));
  const spec = loadSpec(specForModelType('llama'), { config });
  return { spec, base: readBaseWeights(spec, readSafetensorsFile(join(dir, 'model.safetensors'))) };
}

/** ΔW = Σ_t s·B[:, t]·A[t, :] of one module, [out, in], float64. */
function delta(t: LoraModuleWeights, s: number): Float64Array {
  const [r, inF] = t.A.shape as [number, number];
  const out = t.B.shape[0]!;
  const d = new Float64Array(out * inF);
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) for (let k = 0; k < r; k++) d[o * inF + i]! += s * t.B.data[o * r + k]! * t.A.data[k * inF + i]!;
  return d;
}

const input = (adapter: Adapter, weight: number, source: string): CombineInput => ({ adapter, weight, source });

describe('combine (PEFT add_weighted_adapter)', () => {
  it('cat of two adapters merges to the same weights as merging both in turn', () => {
    const { spec, base } = setup();
    const { a, b } = adapters();
    const c = combineAdapters([input(a, 1, 'a'), input(b, 1, 'b')], { method: 'cat' });
    expect(c.config).toMatchObject({ r: 6, lora_alpha: 6, rank_pattern: {}, alpha_pattern: {}, use_rslora: false, target_modules: ['embed_tokens', 'q_proj', 'v_proj'] });
    expect(c.tensors.get(V(0))!.A.shape).toEqual([6, 32]); // rank 2 in a, padded with zeros
    const again = readAdapter(writeAdapter(c), 'combined'); // a valid PEFT adapter
    const once = mergeAdapter(spec, base, again, 'combined').weights;
    const inTurn = mergeAdapter(spec, mergeAdapter(spec, base, a, 'a').weights, b, 'b').weights;
    for (const [name, w] of inTurn) expect(maxDiff(once.get(name)!, w), name).toBeLessThan(1e-6);
  });

  it('cat with weights: ΔW = Σ w_i·s_i·B_i·A_i', () => {
    const { a, b } = adapters();
    const c = combineAdapters([input(a, 0.5, 'a'), input(b, -2, 'b')], { method: 'cat' });
    const want = delta(a.tensors.get(Q(1))!, 2).map((v, i) => 0.5 * v - 2 * delta(b.tensors.get(Q(1))!, 3 / Math.SQRT2)[i]!);
    expect(maxDiff(delta(c.tensors.get(Q(1))!, 1), want)).toBeLessThan(1e-6);
  });

  it('svd: the best rank-r approximation of Σ w_i·s_i·(s_i·B_i·A_i), PEFT counting each scaling twice', () => {
    const { a, b } = adapters();
    const sa = 2;
    const sb = 3 / Math.SQRT2;
    const target = delta(a.tensors.get(Q(0))!, sa).map((v, i) => 0.7 * sa * v + 1.5 * sb * delta(b.tensors.get(Q(0))!, sb)[i]!);
    const full = combineAdapters([input(a, 0.7, 'a'), input(b, 1.5, 'b')], { method: 'svd', rank: 6 });
    expect(maxDiff(delta(full.tensors.get(Q(0))!, 1), target)).toBeLessThan(1e-5);
    const low = combineAdapters([input(a, 0.7, 'a'), input(b, 1.5, 'b')], { method: 'svd', rank: 3 });
    expect(low.config.r).toBe(3);
    const err = delta(low.tensors.get(Q(0))!, 1).reduce((acc, v, i) => acc + (v - target[i]!) ** 2, 0);
    const s = svd(target, 32, 32).s; // Eckart–Young: the error is the discarded singular values
    const optimal = Array.from(s.slice(3)).reduce((acc, x) => acc + x * x, 0);
    expect(Math.abs(err - optimal) / optimal).toBeLessThan(1e-4);
    // default rank: the largest input rank
    expect(combineAdapters([input(a, 1, 'a'), input(b, 1, 'b')], { method: 'svd' }).config.r).toBe(4);
  });

  it('linear: √|w·s| on both factors (cross terms); one adapter is always linear, and exact', () => {
    const { a } = adapters();
    const single = combineAdapters([input(a, -0.5, 'a')], { method: 'cat' });
    expect(single.config.r).toBe(4);
    expect(maxDiff(delta(single.tensors.get(Q(0))!, 1), delta(a.tensors.get(Q(0))!, 2).map((v) => -0.5 * v))).toBeLessThan(1e-6);
    const b2: Adapter = { ...a, tensors: new Map([...a.tensors].map(([k, t]) => [k, { ...t, B: { ...t.B, data: t.B.data.map((x) => x * 2) } }])) };
    const c = combineAdapters([input(a, 1, 'a'), input(b2, 1, 'b')], { method: 'linear' });
    // (√2·B + √2·2B)·(√2·A + √2·A) = 12·BA: the cross terms double the naive 6·BA (2 + 4)
    expect(maxDiff(delta(c.tensors.get(Q(0))!, 1), delta(a.tensors.get(Q(0))!, 1).map((v) => 12 * v))).toBeLessThan(1e-5);
  });

  it("refuses what PEFT refuses and what it would silently lose", () => {
    const { a, b } = adapters();
    const withConfig = (ad: Adapter, c: Partial<PeftConfig>): Adapter => ({ ...ad, config: { ...ad.config, ...c } });
    expect(() => combineAdapters([input(a, 1, 'a'), input(b, 1, 'b')], { method: 'linear' })).toThrow(/All adapters must have the same r value/);
    expect(() => combineAdapters([input(a, 1, 'a'), input(withConfig(b, { target_modules: '.*q_proj' }), 1, 'b')], { method: 'cat' })).toThrow(/mix of list\/set and string/);
    expect(() => combineAdapters([input(withConfig(a, { use_dora: true }), 1, 'a'), input(b, 1, 'b')], { method: 'cat' })).toThrow(/cannot combine a: a DoRA adapter/);
    expect(() => combineAdapters([input(a, 1, 'a'), input(withConfig(b, { bias: 'all' }), 1, 'b')], { method: 'cat' })).toThrow(/cannot combine b: bias="all"/);
    expect(() => combineAdapters([input(withConfig(a, { init_lora_weights: 'pissa' }), 1, 'a'), input(b, 1, 'b')], { method: 'cat' })).toThrow(/residual base/);
    const saving = (ad: Adapter) => withConfig(ad, { modules_to_save: ['lm_head'] });
    expect(() => combineAdapters([input(saving(a), 1, 'a'), input(saving(b), 1, 'b')], { method: 'cat' })).toThrow(/Cannot add weighted adapters if they target the same module with modules_to_save/);
    // one adapter's copy is dropped: PEFT's new adapter gets an untrained copy, i.e. the base module
    expect(combineAdapters([input(saving(a), 1, 'a'), input(b, 1, 'b')], { method: 'cat' }).config.modules_to_save).toBeNull();
  });
});
