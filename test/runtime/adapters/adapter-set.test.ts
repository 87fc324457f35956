// Many adapters over one loaded base (different ranks and target modules), enable / disable /
// delete: each setting of the one compiled graph gives the logits of the corresponding
// single-adapter model, or of the base; several active adapters sum, as in PEFT. Generation
// switches adapters with a weight upload and matches a generator built for one adapter.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { AdapterSet } from '../../../runtime/adapters/adapter-set.ts';
import { adapterWeights } from '../../../runtime/adapters/adapter-weights.ts';
import { applyPeftConfig } from '../../../runtime/adapters/apply-peft.ts';
import { mergeAdapter, stripAdapters } from '../../../runtime/adapters/merge-model.ts';
import { Generator } from '../../../runtime/generate/generator.ts';
import { readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { makePeftConfig, readAdapter, writeAdapter, type Adapter, type LoraModuleWeights } from '../../../runtime/io/peft.ts';
import { loadSpec, readConfigJson, specForModelType } from '../../../runtime/model/load-spec.ts';
import { readBaseWeights, type WeightMap } from '../../../runtime/model/weights.ts';
import { conformanceCase } from '../../helpers/conformance.ts';
import { maxDiff, interpLogits } from '../../helpers/logits.ts';

const fill = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => ((Math.sin(i * 12.9898 + seed * 78.233) * 43758.5453) % 1) * 0.3);
const lora = (r: number, inF: number, outF: number, seed: number, kind: 'linear' | 'embedding' = 'linear'): LoraModuleWeights => ({
  kind,
  A: { shape: [r, inF], data: fill(r * inF, seed) },
  B: { shape: [outF, r], data: fill(outF * r, seed + 1) },
});

function setup() {
  const dir = conformanceCase('llama_qv_r4');
  const config = readConfigJson(join(dir, 'config.json'));
  const spec = loadSpec(specForModelType('llama'), { config });
  const base = readBaseWeights(spec, readSafetensorsFile(join(dir, 'model.safetensors')));
  const ids = readSafetensorsFile(join(dir, 'io.safetensors')).getInt32('input_ids');
  const [l0, l1] = [0, 1].map((l) => `model.layers.${l}`);
  // a: rank 4 on q_proj and v_proj with DoRA; b: rank 2 on k_proj and the embedding, rsLoRA, and lm_head trained in full.
  const a: Adapter = {
    config: makePeftConfig({ r: 4, lora_alpha: 8, use_dora: true, target_modules: ['q_proj', 'v_proj'] }),
    tensors: new Map([
      [`${l0}.self_attn.q_proj`, { ...lora(4, 32, 32, 1), magnitude: { shape: [32], data: fill(32, 9).map((x) => 1 + x) } }],
      [`${l1}.self_attn.q_proj`, { ...lora(4, 32, 32, 2), magnitude: { shape: [32], data: fill(32, 10).map((x) => 1 + x) } }],
      [`${l0}.self_attn.v_proj`, { ...lora(4, 32, 16, 3), magnitude: { shape: [16], data: fill(16, 11).map((x) => 1 + x) } }],
      [`${l1}.self_attn.v_proj`, { ...lora(4, 32, 16, 4), magnitude: { shape: [16], data: fill(16, 12).map((x) => 1 + x) } }],
    ]),
    others: new Map(),
  };
  const b: Adapter = {
    config: makePeftConfig({ r: 2, lora_alpha: 3, use_rslora: true, target_modules: ['k_proj', 'embed_tokens'], modules_to_save: ['lm_head'] }),
    tensors: new Map([[`${l0}.self_attn.k_proj`, lora(2, 32, 16, 5)], [`${l1}.self_attn.k_proj`, lora(2, 32, 16, 6)], ['model.embed_tokens', lora(2, 96, 32, 7, 'embedding')]]),
    others: new Map([['base_model.model.lm_head.weight', { shape: [96, 32], data: fill(96 * 32, 8) }]]),
  };
  return { spec, base, ids, a: readAdapter(writeAdapter(a), 'a'), b: readAdapter(writeAdapter(b), 'b') };
}

const logits = (model: CheckedModel, weights: WeightMap[], ids: Int32Array) => interpLogits(model, weights, ids, 2, 12);

describe('AdapterSet', () => {
  it('one graph gives each adapter, the base, and their sum; delete keeps PEFT active-set rules', async () => {
    const { spec, base, ids, a, b } = setup();
    const set = new AdapterSet(spec, base);
    set.add('a', a);
    set.add('b', b);
    expect(set.active).toEqual(['a']); // the first adapter loaded is active, as with from_pretrained
    const model = set.model();
    expect(model.lora.map((t) => `${t.adapter}:${t.module.split('.').slice(-1)[0]}:${t.config.rank}`)).toEqual(['b:embed_tokens:2', 'a:q_proj:4', 'b:k_proj:2', 'a:v_proj:4', 'a:q_proj:4', 'b:k_proj:2', 'a:v_proj:4']);
    const single = async (ad: Adapter) => {
      const m = applyPeftConfig(spec, ad.config);
      return logits(m, [base, adapterWeights(m, ad, 'x', { base })], ids);
    };
    const plain = stripAdapters(spec);
    const onlyBase = await logits(plain, [base], ids);
    const onlyA = await single(a);
    const onlyB = await single(b);
    expect(maxDiff(onlyA, onlyBase)).toBeGreaterThan(1e-2);
    expect(maxDiff(onlyB, onlyBase)).toBeGreaterThan(1e-2);

    const weights = set.weights();
    const run = () => logits(model, [weights, set.switchWeights()], ids);
    expect(maxDiff(await run(), onlyA)).toBeLessThan(1e-6);
    set.setActive(['b']);
    expect(maxDiff(await run(), onlyB)).toBeLessThan(1e-6);
    set.disable('b');
    expect(set.active).toEqual([]);
    expect(maxDiff(await run(), onlyBase)).toBeLessThan(1e-6);
    // Both active: the sum, which here equals merging both in turn (DoRA on a's modules, b on others).
    set.enable('a');
    set.enable('b');
    const both = mergeAdapter(spec, mergeAdapter(spec, base, a, 'a').weights, b, 'b');
    expect(maxDiff(await run(), await logits(both.plain, [both.weights], ids))).toBeLessThan(1e-5);
    // The graph stays when the active set changes; deleting an adapter changes it.
    expect(set.model()).toBe(model);
    set.setActive(['b']);
    set.delete('b');
    expect(set.active).toEqual(['a']); // none left active: the first by name
    expect(set.model().lora.every((t) => t.adapter === 'a')).toBe(true);
    expect(maxDiff(await logits(set.model(), [set.weights()], ids), onlyA)).toBeLessThan(1e-6);
    expect(() => set.delete('b')).toThrow(/Adapter b does not exist/);
  });

  it("refuses what PEFT refuses: a second adapter with bias, two active copies of one module", () => {
    const { spec, base, a, b } = setup();
    const set = new AdapterSet(spec, base);
    const withBias = (ad: Adapter): Adapter => ({ ...ad, config: { ...ad.config, bias: 'all' } });
    set.add('a', withBias(a));
    expect(() => set.add('a', b)).toThrow(/already loaded/);
    expect(() => set.add('b', withBias(b))).toThrow(/LoraModel supports only 1 adapter with bias/);
    set.add('b', b);
    set.add('b2', b);
    expect(() => set.setActive(['b', 'b2'])).toThrow(/both have a modules_to_save copy of the same module/);
    expect(() => set.setActive(['nope'])).toThrow(/Adapter nope does not exist/);
    expect(() => set.add('bad name', a)).toThrow(/adapter name "bad name"/);
  });

  it('generation switches adapters by uploading gates, and matches a generator built for one adapter', async () => {
    const { spec, base, a, b } = setup();
    const set = new AdapterSet(spec, base);
    set.add('a', a);
    set.add('b', b);
    const opts = { backend: 'interp' as const, batch: 1, cacheLen: 12 };
    const gen = await Generator.create(set.model(), [set.weights()], opts);
    const prompt = [[3, 14, 15, 92]];
    const sampling = { maxNewTokens: 6 };
    const viaSet: number[][] = [];
    for (const name of ['a', 'b']) {
      set.setActive([name]);
      gen.setWeights(set.switchWeights());
      viaSet.push((await gen.generate(prompt, sampling))[0]!);
    }
    for (const [i, ad] of [a, b].entries()) {
      const m = applyPeftConfig(spec, ad.config);
      const own = await Generator.create(m, [base, adapterWeights(m, ad, 'x', { base })], opts);
      expect(viaSet[i]).toEqual((await own.generate(prompt, sampling))[0]);
      own.destroy();
    }
    expect(viaSet[0]).not.toEqual(viaSet[1]);
    gen.destroy();
  });
});
