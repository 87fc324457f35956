import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../../compiler/errors.ts';
import {
  baseWeightKey,
  isTargetModule,
  loraParamNames,
  paramNameForKey,
  parseBaseKey,
  loraScaling,
  makePeftConfig,
  matchesTarget,
  parseLoraKey,
  parsePeftConfig,
  readAdapter,
  resolveRankAlpha,
  serializePeftConfig,
  writeAdapter,
  type Adapter,
  type LoraModuleWeights,
} from '../../../runtime/io/peft.ts';
import { parseSafetensors } from '../../../runtime/io/safetensors.ts';
import { CONFORMANCE_CASES as CASES, CONFORMANCE_DIR as conformanceDir } from '../../helpers/conformance.ts';

const Q0 = 'model.layers.0.self_attn.q_proj';
const V0 = 'model.layers.0.self_attn.v_proj';
const V1 = 'model.layers.1.self_attn.v_proj';

function lora(r: number, inF: number, outF: number, seed = 1): LoraModuleWeights {
  const fill = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + s));
  return { A: { shape: [r, inF], data: fill(r * inF, seed) }, B: { shape: [outF, r], data: fill(outF * r, seed + 9) }, kind: 'linear' };
}

describe('PEFT target matching', () => {
  it('list: exact name or suffix after a dot', () => {
    expect(matchesTarget(Q0, ['q_proj', 'v_proj'])).toBe(true);
    expect(matchesTarget('q_proj', ['q_proj'])).toBe(true);
    expect(matchesTarget('model.layers.0.self_attn.xq_proj', ['q_proj'])).toBe(false);
    expect(matchesTarget(Q0, ['self_attn.q_proj'])).toBe(true);
    expect(matchesTarget(Q0, ['k_proj'])).toBe(false);
    expect(matchesTarget(Q0, null)).toBe(false);
  });
  it('string: a regex that must match the whole name', () => {
    expect(matchesTarget(Q0, '.*\\.(q|v)_proj')).toBe(true);
    expect(matchesTarget(V1, '.*\\.(q|v)_proj')).toBe(true);
    expect(matchesTarget(Q0, 'q_proj')).toBe(false); // not a full match
    expect(matchesTarget(Q0, '.*layers\\.0\\..*')).toBe(true);
    expect(matchesTarget(V1, '.*layers\\.0\\..*')).toBe(false);
    expect(matchesTarget(Q0, '.*(?P<n>q)_proj')).toBe(true); // Python named group syntax
  });
  it('all-linear: every linear layer but the output head, any case', () => {
    expect(matchesTarget(Q0, 'all-linear')).toBe(true);
    expect(matchesTarget('model.layers.0.mlp.down_proj', 'ALL-LINEAR')).toBe(true);
    expect(matchesTarget('lm_head', 'all-linear', { isOutputHead: true })).toBe(false);
    expect(matchesTarget('model.norm', 'all-linear', { isLinear: false })).toBe(false);
  });
  it('exclude_modules, modules_to_save and layers_to_transform as in PEFT', () => {
    const base = { target_modules: ['q_proj', 'v_proj'] };
    expect(isTargetModule(Q0, makePeftConfig({ ...base, exclude_modules: ['q_proj'] }))).toBe(false);
    expect(isTargetModule(V0, makePeftConfig({ ...base, exclude_modules: ['q_proj'] }))).toBe(true);
    expect(isTargetModule(Q0, makePeftConfig({ ...base, exclude_modules: '.*layers\\.0\\..*' }))).toBe(false);
    expect(isTargetModule(Q0, makePeftConfig({ ...base, modules_to_save: ['self_attn'] }))).toBe(false);
    const layers = makePeftConfig({ ...base, layers_to_transform: [1], layers_pattern: 'layers' });
    expect(isTargetModule(V0, layers)).toBe(false);
    expect(isTargetModule(V1, layers)).toBe(true);
    expect(isTargetModule(V1, makePeftConfig({ ...base, layers_to_transform: 1 }))).toBe(true);
    expect(isTargetModule(V0, makePeftConfig({ ...base, layers_to_transform: 1 }))).toBe(false);
    expect(isTargetModule(V0, makePeftConfig({ ...base, layers_to_transform: [0], layers_pattern: ['blocks', 'layers'] }))).toBe(true);
    expect(isTargetModule(V0, makePeftConfig({ ...base, layers_to_transform: [0], layers_pattern: 'h' }))).toBe(false);
    // GPT-2 naming: transformer.h.N.attn.c_attn
    expect(isTargetModule('transformer.h.1.attn.c_attn', makePeftConfig({ target_modules: ['c_attn'], layers_to_transform: [1] }))).toBe(true);
    // PEFT applies layers_to_transform only to suffix matches, not to exact names.
    expect(isTargetModule(V0, makePeftConfig({ target_modules: [V0], layers_to_transform: [1] }))).toBe(true);
    // and PEFT refuses it with a regex (or all-linear) target
    expect(() => makePeftConfig({ target_modules: '.*v_proj', layers_to_transform: [1] })).toThrow(/`layers_to_transform` cannot be used when `target_modules` is a str/);
    expect(() => makePeftConfig({ target_modules: 'all-linear', layers_to_transform: [1] })).toThrow(/`layers_to_transform` cannot be used/);
  });
});

describe('rank_pattern / alpha_pattern', () => {
  it('a key matches the name end after a dot (or the whole name); the first matching key wins', () => {
    const c = makePeftConfig({
      r: 8,
      lora_alpha: 16,
      target_modules: ['q_proj', 'v_proj'],
      rank_pattern: { q_proj: 4, 'layers.1.self_attn.v_proj': 2 },
      alpha_pattern: { 'layers\\.\\d+\\.self_attn\\.v_proj': 32 },
    });
    expect(resolveRankAlpha(Q0, c)).toEqual({ r: 4, alpha: 16 });
    expect(resolveRankAlpha(V0, c)).toEqual({ r: 8, alpha: 32 });
    expect(resolveRankAlpha(V1, c)).toEqual({ r: 2, alpha: 32 });
    const first = makePeftConfig({ target_modules: ['v_proj'], rank_pattern: { v_proj: 3, 'layers.1.self_attn.v_proj': 6 } });
    expect(resolveRankAlpha(V1, first).r).toBe(3);
    // "proj" is not a dotted suffix of "v_proj"
    expect(resolveRankAlpha(V1, makePeftConfig({ rank_pattern: { proj: 5 } })).r).toBe(8);
    // the key is a raw regex: "." matches any character
    expect(resolveRankAlpha('model.layers.1.self_attn_v_proj', makePeftConfig({ rank_pattern: { 'self_attn.v_proj': 5 } })).r).toBe(5);
  });
  it('loraScaling: alpha / r or alpha / sqrt(r)', () => {
    expect(loraScaling(8, 4)).toBe(2);
    expect(loraScaling(8, 4, true)).toBe(4);
    expect(loraScaling(16, 16, true)).toBe(4);
  });
});

describe('adapter_config.json', () => {
  it('fills defaults, keeps unknown fields and checks values', () => {
    const c = parsePeftConfig(JSON.stringify({ peft_type: 'LORA', r: 4, target_modules: ['q_proj'], future_field: { x: 1 } }));
    expect(c.lora_alpha).toBe(8);
    expect(c.task_type).toBeNull();
    expect(c.future_field).toEqual({ x: 1 });
    expect(serializePeftConfig(c)).toContain('"future_field": {\n    "x": 1\n  }');
    expect(serializePeftConfig(c)).toContain('"lora_dropout": 0.0,');
    expect(() => parsePeftConfig('{"peft_type": "IA3"}', 'cfg')).toThrow(/cfg.*LoRA adapters/);
    expect(() => parsePeftConfig('{not json', 'cfg')).toThrow(UserError);
    expect(() => parsePeftConfig('{"peft_type": "LORA", "r": 0}', 'cfg')).toThrow(/"r" is 0/);
    expect(() => parsePeftConfig('{"peft_type": "LORA", "target_modules": "(unclosed"}', 'cfg')).toThrow(/target_modules.*regular expression/);
    expect(() => parsePeftConfig('{"peft_type": "LORA", "rank_pattern": {"q": 2.5}}', 'cfg')).toThrow(/rank_pattern/);
  });
  it('makePeftConfig defaults to CAUSAL_LM and PEFT 0.21 field set', () => {
    const c = makePeftConfig({ r: 4, target_modules: ['q_proj'] });
    expect(c.task_type).toBe('CAUSAL_LM');
    expect(c.peft_version).toBe('0.21.0');
    expect(c.inference_mode).toBe(true);
  });
});

describe('adapter files', () => {
  it('parses keys with and without the adapter name', () => {
    expect(parseLoraKey('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')).toEqual({ module: Q0, part: 'A' });
    expect(parseLoraKey('base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight')).toEqual({ module: Q0, part: 'B', adapterName: 'default' });
    expect(parseLoraKey(`base_model.model.${Q0}.lora_magnitude_vector`)).toEqual({ module: Q0, part: 'magnitude' });
    expect(parseLoraKey(`base_model.model.${Q0}.lora_magnitude_vector.weight`)).toEqual({ module: Q0, part: 'magnitude' });
    expect(parseLoraKey(`base_model.model.${Q0}.lora_B.bias`)).toEqual({ module: Q0, part: 'biasB' });
    expect(parseLoraKey('base_model.model.model.embed_tokens.lora_embedding_A')).toEqual({ module: 'model.embed_tokens', part: 'embA' });
    expect(parseLoraKey('base_model.model.lm_head.weight')).toBeUndefined();
  });

  it('names every other tensor PEFT saves, in the file and the in-memory form', () => {
    expect(parseLoraKey('base_model.model.model.embed_tokens.lora_embedding_B.default')).toEqual({ module: 'model.embed_tokens', part: 'embB', adapterName: 'default' });
    expect(parseLoraKey(`base_model.model.${Q0}.lora_magnitude_vector.default.weight`)).toEqual({ module: Q0, part: 'magnitude', adapterName: 'default' });
    expect(baseWeightKey(`${Q0}.bias`, Q0)).toBe(`base_model.model.${Q0}.base_layer.bias`);
    expect(baseWeightKey('model.norm.bias')).toBe('base_model.model.model.norm.bias');
    expect(parseBaseKey(`base_model.model.${Q0}.base_layer.bias`)).toEqual({ kind: 'weight', name: `${Q0}.bias`, baseLayer: true });
    expect(parseBaseKey('base_model.model.score.original_module.weight')!.kind).toBe('ignored');
    expect(parseBaseKey('lm_head.weight')).toBeUndefined();
    expect(paramNameForKey('base_model.model.lm_head.modules_to_save.default.weight')).toBe('lm_head.weight');
    expect(paramNameForKey(`base_model.model.${Q0}.base_layer.bias`)).toBe(`${Q0}.bias`);
    expect(paramNameForKey(`base_model.model.${Q0}.lora_A.default.weight`)).toBe(`${Q0}.lora_A.weight`);
    expect(paramNameForKey(`base_model.model.${Q0}.lora_magnitude_vector.default.weight`)).toBe(loraParamNames(Q0).magnitude);
    expect(loraParamNames('model.embed_tokens', 'embedding', 'b')).toEqual({
      a: 'model.embed_tokens.lora_embedding_A.b',
      b: 'model.embed_tokens.lora_embedding_B.b',
      biasB: 'model.embed_tokens.lora_B.b.bias',
      magnitude: 'model.embed_tokens.lora_magnitude_vector.b',
    });
  });

  it('checks lora_B biases and embedding factors against the config', () => {
    const config = makePeftConfig({ r: 2, target_modules: ['q_proj'], lora_bias: true });
    const t = lora(2, 8, 8);
    expect(() => writeAdapter({ config, tensors: new Map([[Q0, t]]), others: new Map() })).toThrow(/lora_bias=true needs lora_B's bias/);
    const files = writeAdapter({ config, tensors: new Map([[Q0, { ...t, biasB: { shape: [8], data: new Float32Array(8).fill(1) } }]]), others: new Map() });
    expect(readAdapter(files).tensors.get(Q0)!.biasB!.data[0]).toBe(1);
    expect(() => readAdapter({ config: serializePeftConfig({ ...config, lora_bias: false }), weights: files.weights })).toThrow(/has a lora_B bias but the config has lora_bias=false/);
    const emb = { ...lora(2, 10, 8), kind: 'embedding' as const };
    const embFiles = writeAdapter({ config: makePeftConfig({ r: 2, target_modules: ['embed_tokens'] }), tensors: new Map([['model.embed_tokens', emb]]), others: new Map() });
    expect(parseSafetensors(embFiles.weights).names).toEqual(['base_model.model.model.embed_tokens.lora_embedding_A', 'base_model.model.model.embed_tokens.lora_embedding_B']);
    expect(readAdapter(embFiles).tensors.get('model.embed_tokens')).toEqual(emb);
  });

  it('round-trips a DoRA adapter with rank_pattern; DoRA magnitude key as PEFT saves it', () => {
    const config = makePeftConfig({ r: 4, lora_alpha: 8, use_dora: true, target_modules: ['q_proj', 'v_proj'], rank_pattern: { v_proj: 2 } });
    const q = { ...lora(4, 32, 32), magnitude: { shape: [32], data: new Float32Array(32).fill(1.5) } };
    const v = { ...lora(2, 32, 16, 3), magnitude: { shape: [16], data: new Float32Array(16).fill(0.5) } };
    const adapter: Adapter = { config, tensors: new Map([[Q0, q], [V0, v]]), others: new Map() };
    const files = writeAdapter(adapter);
    const st = parseSafetensors(files.weights);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.names).toContain(`base_model.model.${Q0}.lora_magnitude_vector`);
    expect(st.names).toContain(`base_model.model.${V0}.lora_A.weight`);
    const back = readAdapter(files);
    expect(back.config).toEqual(config);
    expect(back.tensors.get(Q0)).toEqual(q);
    expect(back.tensors.get(V0)).toEqual(v);
    expect(writeAdapter(back)).toEqual(files);
  });

  it('refuses inconsistent adapters with a message naming the module', () => {
    const config = makePeftConfig({ r: 4, target_modules: ['q_proj'] });
    const good = writeAdapter({ config, tensors: new Map([[Q0, lora(4, 8, 8)]]), others: new Map() });
    const wrongRank = { config: serializePeftConfig({ ...config, r: 8 }), weights: good.weights };
    expect(() => readAdapter(wrongRank, 'ad')).toThrow(new RegExp(`ad/adapter_model.safetensors: module "${Q0.replace(/\./g, '\\.')}": rank 4 .* rank 8`));
    const dora = { config: serializePeftConfig({ ...config, use_dora: true }), weights: good.weights };
    expect(() => readAdapter(dora)).toThrow(/use_dora=true but there is no DoRA magnitude \(base_model\.model\..*\.lora_magnitude_vector\)/);
    expect(() => writeAdapter({ config, tensors: new Map([[Q0, lora(2, 8, 8)]]), others: new Map() })).toThrow(UserError);
  });

  describe('shared PEFT adapters', () => {
    for (const c of CASES) {
      it(`${c}: names, shapes, scaling, and a byte-exact rewrite`, () => {
        const dir = path.join(conformanceDir, c);
        const files = {
          config: fs.readFileSync(path.join(dir, 'adapter/adapter_config.json'), 'utf8'),
          weights: new Uint8Array(fs.readFileSync(path.join(dir, 'adapter/adapter_model.safetensors'))),
        };
        const adapter = readAdapter(files, c);
        const hf = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, number>;
        const hidden = hf.hidden_size ?? hf.n_embd!;
        const expectedModules =
          c === 'llama_qv_r4'
            ? ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']
            : ['transformer.h.0.attn.c_attn', 'transformer.h.1.attn.c_attn'];
        expect([...adapter.tensors.keys()]).toEqual(expectedModules);
        for (const [name, w] of adapter.tensors) {
          const { r, alpha } = resolveRankAlpha(name, adapter.config);
          expect(r).toBe(4);
          expect(loraScaling(alpha, r, adapter.config.use_rslora)).toBe(2);
          expect(w.A.shape).toEqual([4, hidden]);
          const out = name.endsWith('c_attn') ? 3 * hidden : name.endsWith('v_proj') ? (hidden / hf.num_attention_heads!) * hf.num_key_value_heads! : hidden;
          expect(w.B.shape).toEqual([out, 4]);
        }
        // The modules PEFT targeted are exactly those our matcher selects among the base model's weights.
        const base = parseSafetensors(new Uint8Array(fs.readFileSync(path.join(dir, 'model.safetensors'))));
        const linear = base.names.filter((n) => n.endsWith('.weight') && base.info(n).shape.length === 2).map((n) => n.slice(0, -'.weight'.length));
        const selected = linear.filter((m) => isTargetModule(m, adapter.config, { isOutputHead: m === 'lm_head' }));
        expect(selected.sort()).toEqual([...expectedModules].sort());
        // Writing it back reproduces PEFT's files exactly.
        const again = writeAdapter(adapter);
        expect(again.config).toBe(files.config);
        expect(Buffer.from(again.weights).equals(Buffer.from(files.weights))).toBe(true);
      });
    }
  });
});
