// PEFT options the two shared fixtures do not exercise: rsLoRA, DoRA, all-linear, rank/alpha
// patterns, bias modes, embedding LoRA (token and position tables, with DoRA), lora_bias on a
// GPT-2 Conv1D, modules_to_save. Each adapted model must (a) target what PEFT targets, (b) give the same
// logits as its merged weights run through the plain model (PEFT's forward and merge formulas
// agree), and (c) give the same logits and gradients on WebGPU as in the interpreter.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { InterpExecutor } from '../../../runtime/exec/interp-executor.ts';
import type { Executor } from '../../../runtime/exec/executor.ts';
import { readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { makePeftConfig, type PeftConfig } from '../../../runtime/io/peft.ts';
import { applyPeftConfig } from '../../../runtime/adapters/apply-peft.ts';
import { compile } from '../../../compiler/compile.ts';
import { createExecutor } from '../../../runtime/exec/create.ts';
import { targetFor } from '../../../runtime/device/target.ts';
import { feedTokens } from '../../../runtime/model/feeds.ts';
import { loadSpec, readConfigJson, specForModelType } from '../../../runtime/model/load-spec.ts';
import { mergeAdapterWeights, stripAdapters } from '../../../runtime/adapters/merge-model.ts';
import { readBaseWeights, setWeights, type WeightMap } from '../../../runtime/model/weights.ts';
import { initAdapterWeights } from '../../../runtime/adapters/init.ts';
import { conformanceCase, type ConformanceCase } from '../../helpers/conformance.ts';
import { gpuTest } from '../../helpers/gpu.ts';
import { maxDiff } from '../../helpers/logits.ts';

const CASES: Record<string, { dir: ConformanceCase; config: Partial<PeftConfig>; expect: (m: CheckedModel) => void }> = {
  'llama rsLoRA with rank and alpha patterns': {
    dir: 'llama_qv_r4',
    config: { r: 4, lora_alpha: 8, use_rslora: true, target_modules: ['q_proj', 'v_proj'], rank_pattern: { 'layers\\.1\\.self_attn\\.q_proj': 2 }, alpha_pattern: { v_proj: 3 } },
    expect: (m) => {
      const q1 = m.lora.find((t) => t.module === 'model.layers.1.self_attn.q_proj')!.config;
      expect(q1.rank).toBe(2);
      expect(q1.scaling).toBeCloseTo(8 / Math.sqrt(2), 12);
      const v0 = m.lora.find((t) => t.module === 'model.layers.0.self_attn.v_proj')!.config;
      expect(v0.scaling).toBeCloseTo(3 / 2, 12);
    },
  },
  'llama all-linear (attention and MLP, not the head)': {
    dir: 'llama_qv_r4',
    config: { r: 2, lora_alpha: 4, target_modules: 'all-linear' },
    expect: (m) => {
      expect(m.lora).toHaveLength(14);
      expect(m.lora.some((t) => t.module === 'lm_head')).toBe(false);
      expect(m.lora.some((t) => t.module.endsWith('mlp.down_proj'))).toBe(true);
    },
  },
  'llama DoRA on a regex target': {
    dir: 'llama_qv_r4',
    config: { r: 4, lora_alpha: 8, use_dora: true, target_modules: '.*\\.(q_proj|o_proj)' },
    expect: (m) => {
      expect(m.lora.map((t) => t.module.split('.').pop())).toEqual(['q_proj', 'o_proj', 'q_proj', 'o_proj']);
      expect(m.weights.filter((w) => w.name.endsWith('lora_magnitude_vector'))).toHaveLength(4);
    },
  },
  'gpt2 bias="lora_only" trains the adapted layers\' biases': {
    dir: 'gpt2_cattn_r4',
    config: { r: 4, lora_alpha: 8, target_modules: ['c_attn'], fan_in_fan_out: true, bias: 'lora_only' },
    expect: (m) => {
      const trained = m.weights.filter((w) => w.role === 'trainable').map((w) => w.name);
      expect(trained).toEqual(['transformer.h.0.attn.c_attn.bias', 'transformer.h.1.attn.c_attn.bias']);
    },
  },
  'gpt2 DoRA on Conv1D': {
    dir: 'gpt2_cattn_r4',
    config: { r: 4, lora_alpha: 8, use_dora: true, target_modules: ['c_attn', 'c_fc'], fan_in_fan_out: true },
    expect: (m) => expect(m.weights.filter((w) => w.name.endsWith('lora_magnitude_vector')).map((w) => w.shape[0])).toEqual([96, 128, 96, 128]),
  },
  'llama embedding LoRA on embed_tokens with v_proj': {
    dir: 'llama_qv_r4',
    config: { r: 4, lora_alpha: 8, target_modules: ['embed_tokens', 'v_proj'] },
    expect: (m) => {
      expect(m.lora.map((t) => [t.module, t.kind])).toEqual([['model.embed_tokens', 'embedding'], ['model.layers.0.self_attn.v_proj', 'linear'], ['model.layers.1.self_attn.v_proj', 'linear']]);
      expect(m.weights.find((w) => w.name === 'model.embed_tokens.lora_embedding_A')!.shape).toEqual([4, 96]);
      expect(m.weights.find((w) => w.name === 'model.embed_tokens.lora_embedding_B')!.shape).toEqual([32, 4]);
    },
  },
  'llama DoRA on embed_tokens and q_proj': {
    dir: 'llama_qv_r4',
    config: { r: 2, lora_alpha: 4, use_dora: true, target_modules: ['embed_tokens', 'q_proj'] },
    expect: (m) => expect(m.weights.find((w) => w.name === 'model.embed_tokens.lora_magnitude_vector')!.shape).toEqual([32]),
  },
  'llama modules_to_save lm_head and norm, bias="all"': {
    dir: 'llama_qv_r4',
    config: { r: 4, lora_alpha: 8, target_modules: ['q_proj'], modules_to_save: ['lm_head', 'model.norm'], bias: 'all' },
    expect: (m) => expect(m.weights.filter((w) => w.role === 'trainable').map((w) => w.name)).toEqual(['model.norm.weight', 'lm_head.weight']),
  },
  'gpt2 lora_bias on Conv1D c_attn, bias="all"': {
    dir: 'gpt2_cattn_r4',
    config: { r: 4, lora_alpha: 8, target_modules: ['c_attn'], fan_in_fan_out: true, lora_bias: true, bias: 'all' },
    expect: (m) => {
      expect(m.weights.filter((w) => w.name.endsWith('lora_B.bias')).map((w) => w.shape)).toEqual([[96], [96]]);
      expect(m.weights.filter((w) => w.role === 'trainable').length).toBe(2 * 6 + 1); // every bias: ln_1, c_attn, c_proj, ln_2, c_fc, c_proj per block, ln_f
    },
  },
  'gpt2 LoRA on the position table wpe and c_fc': {
    dir: 'gpt2_cattn_r4',
    config: { r: 2, lora_alpha: 2, target_modules: ['wpe', 'c_fc'], fan_in_fan_out: true },
    expect: (m) => expect(m.lora.map((t) => t.kind)).toEqual(['embedding', 'linear', 'linear']),
  },
  'gpt2 all-linear over Conv1D layers': {
    dir: 'gpt2_cattn_r4',
    config: { r: 2, lora_alpha: 2, target_modules: 'all-linear', fan_in_fan_out: true },
    expect: (m) => expect(m.lora.map((t) => t.module.split('.').slice(-2).join('.'))).toEqual(['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj', 'attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj']),
  },
};

function setup(name: string) {
  const c = CASES[name]!;
  const dir = conformanceCase(c.dir);
  const config = readConfigJson(join(dir, 'config.json'));
  const model = applyPeftConfig(loadSpec(specForModelType(String(config['model_type'])), { config }), makePeftConfig({ init_lora_weights: false, ...c.config }));
  const io = readSafetensorsFile(join(dir, 'io.safetensors'));
  const ids = io.getInt32('input_ids');
  const [batch, seq] = io.info('input_ids').shape as [number, number];
  const base = readBaseWeights(model, readSafetensorsFile(join(dir, 'model.safetensors')));
  // init 'random' gives B != 0, so the adapter changes the output (as in the fixtures).
  const lora = initAdapterWeights(model, base, 5);
  return { c, model, ids, batch, seq, base, lora };
}

async function forward(exec: Executor, weights: WeightMap[], ids: Int32Array, batch: number, seq: number) {
  for (const w of weights) setWeights(exec, w);
  feedTokens(exec, ids, batch, seq, ids);
  exec.setInput('optim', Float32Array.of(0, 1, 1, 0));
  exec.run();
  return { logits: await exec.read('logits'), loss: (await exec.read('loss'))[0]! };
}

describe('PEFT options', () => {
  for (const name of Object.keys(CASES)) {
    it(`${name}: targets, and merged weights reproduce the adapter's logits`, async () => {
      const { c, model, ids, batch, seq, base, lora } = setup(name);
      c.expect(model);
      const adapted = await forward(new InterpExecutor(compile(model, { mode: 'eval', batch, seq, stopAfter: 'passes' }).graph, 'f64'), [base, lora], ids, batch, seq);
      const plain = stripAdapters(model);
      const merged = await forward(new InterpExecutor(compile(plain, { mode: 'eval', batch, seq, stopAfter: 'passes' }).graph, 'f64'), [mergeAdapterWeights(model, base, lora)], ids, batch, seq);
      const unadapted = await forward(new InterpExecutor(compile(plain, { mode: 'eval', batch, seq, stopAfter: 'passes' }).graph, 'f64'), [base], ids, batch, seq);
      expect(maxDiff(adapted.logits, unadapted.logits)).toBeGreaterThan(1e-3); // the adapter does something
      expect(maxDiff(adapted.logits, merged.logits)).toBeLessThan(1e-5);
    });

    gpuTest(`${name}: WebGPU matches the interpreter (logits, loss, gradients)`, async (gpu) => {
      const { model, ids, batch, seq, base, lora } = setup(name);
      const program = compile(model, { mode: 'train', batch, seq, target: targetFor(gpu) });
      const graph = program.graph;
      const ref = new InterpExecutor(graph, 'f64');
      const ours = await createExecutor(program, { backend: 'webgpu', gpu });
      const r = await forward(ref, [base, lora], ids, batch, seq);
      const o = await forward(ours, [base, lora], ids, batch, seq);
      expect(maxDiff(o.logits, r.logits)).toBeLessThan(1e-4);
      expect(Math.abs(o.loss - r.loss)).toBeLessThan(1e-4);
      for (const param of Object.keys(graph.grads)) {
        const g = await ref.readGrad(param);
        const scale = Math.max(...Array.from(g, Math.abs));
        expect(maxDiff(await ours.readGrad(param), g) / scale, param).toBeLessThan(1e-4);
      }
      ours.destroy();
    });
  }
});
