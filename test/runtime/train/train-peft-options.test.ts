// Training with PEFT's options from the spec and the command line: lora_bias, bias="lora_only",
// modules_to_save (`lora trainable` and --modules-to-save), embedding LoRA, PiSSA. The saved adapter
// has PEFT's keys and config fields, the trained base tensors moved, and the merged model gives the
// adapted model's logits.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { mergeAdapterIntoBase } from '../../../runtime/adapters/merge-files.ts';
import { adapterWeights } from '../../../runtime/adapters/adapter-weights.ts';
import { applyPeftConfig } from '../../../runtime/adapters/apply-peft.ts';
import { stripAdapters } from '../../../runtime/adapters/merge-model.ts';
import { readAdapterDir, readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { loadSpec } from '../../../runtime/model/load-spec.ts';
import { readBaseWeights, type WeightMap } from '../../../runtime/model/weights.ts';
import { runTrainJob } from '../../../runtime/train/train-job.ts';
import { CHAR_GPT, TINY_SET, tmpDir, writeBase, writeJsonl } from './fixtures.ts';
import { maxDiff, interpLogits } from '../../helpers/logits.ts';

/** char-gpt with other `lora` statements. */
function specWith(dir: string, lora: string): string {
  const file = path.join(dir, 'spec.rf');
  fs.writeFileSync(file, fs.readFileSync(CHAR_GPT, 'utf8').replace(/^lora targets .*$/m, lora));
  return file;
}

const logits = (model: CheckedModel, weights: WeightMap[]) =>
  interpLogits(model, weights, Int32Array.from({ length: 16 }, (_, i) => (i * 37 + 5) % 256), 1, 16);

/** Trains, then checks that the merged file runs as the adapted model. */
async function trainAndMerge(lora: string, extra: Record<string, unknown> = {}) {
  const dir = tmpDir('peftopt');
  const spec = specWith(dir, lora);
  const weights = writeBase(dir);
  const out = path.join(dir, 'out');
  await runTrainJob({ spec, set: TINY_SET, data: writeJsonl(dir), out, weights, backend: 'interp', batch: 4, seq: 16, evalEvery: 0, steps: 3, lr: 0.05, ...extra });
  const specModel = loadSpec(spec, { overrides: TINY_SET });
  const base = readBaseWeights(specModel, readSafetensorsFile(weights));
  const adapter = readAdapterDir(out);
  const model = applyPeftConfig(specModel, adapter.config);
  const adapted = await logits(model, [base, adapterWeights(model, adapter, out, { base })]);
  const mergedFile = path.join(dir, 'merged.safetensors');
  await mergeAdapterIntoBase({ spec, weights, adapter: out, out: mergedFile, set: TINY_SET });
  const merged = await logits(stripAdapters(specModel), [readBaseWeights(specModel, readSafetensorsFile(mergedFile))]);
  expect(maxDiff(adapted, merged)).toBeLessThan(1e-4);
  expect(maxDiff(adapted, await logits(stripAdapters(specModel), [base]))).toBeGreaterThan(1e-3);
  return { dir, out, base, adapter, st: readSafetensorsFile(path.join(out, 'adapter_model.safetensors')), config: JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown> };
}

describe('training with PEFT options', () => {
  it('lora_bias, bias="lora_only" and --modules-to-save: PEFT keys and fields; trained; merged = adapted', async () => {
    const r = await trainAndMerge('lora targets ["q_proj", "v_proj"] (rank = 4, alpha = 8, lora_bias = true, bias = "lora_only")', { modulesToSave: ['lm_head'] });
    const m = (x: string) => `base_model.model.blocks.0.attn.${x}`;
    expect([...r.st.names].sort()).toEqual(
      ['base_model.model.lm_head.weight', m('q_proj.base_layer.bias'), m('q_proj.lora_A.weight'), m('q_proj.lora_B.bias'), m('q_proj.lora_B.weight'), m('v_proj.base_layer.bias'), m('v_proj.lora_A.weight'), m('v_proj.lora_B.bias'), m('v_proj.lora_B.weight')].sort(),
    );
    expect(r.config).toMatchObject({ lora_bias: true, bias: 'lora_only', modules_to_save: ['lm_head'], task_type: 'CAUSAL_LM', base_model_name_or_path: r.dir, target_modules: ['q_proj', 'v_proj'] });
    expect(maxDiff(r.st.getFloat32('base_model.model.lm_head.weight'), r.base.get('lm_head.weight')!)).toBeGreaterThan(1e-4);
    expect(maxDiff(r.st.getFloat32(m('q_proj.base_layer.bias')), r.base.get('blocks.0.attn.q_proj.bias')!)).toBeGreaterThan(1e-4);
    expect(r.st.getFloat32(m('q_proj.lora_B.bias')).some((v) => v !== 0)).toBe(true);
  });

  it('embedding LoRA with PiSSA on q_proj and `lora trainable`: lora_embedding keys, init "pissa" saved; merged = adapted', async () => {
    const r = await trainAndMerge('lora targets ["wte", "q_proj"] (rank = 2, alpha = 2, init = "pissa")\nlora trainable ["ln_f"]');
    expect(r.st.names.filter((n) => n.includes('wte'))).toEqual(['base_model.model.wte.lora_embedding_A', 'base_model.model.wte.lora_embedding_B']);
    expect(r.st.info('base_model.model.wte.lora_embedding_A').shape).toEqual([2, 256]);
    expect(r.st.names).toContain('base_model.model.ln_f.weight');
    expect(r.st.names).toContain('base_model.model.ln_f.bias');
    expect(r.config).toMatchObject({ init_lora_weights: 'pissa', modules_to_save: ['ln_f'], target_modules: ['wte', 'q_proj'] });
  });

  it('refuses what cannot be trained, by name', async () => {
    const dir = tmpDir('peftopt');
    const run = (lora: string, extra: Record<string, unknown> = {}) =>
      runTrainJob({ spec: specWith(dir, lora), set: TINY_SET, data: writeJsonl(dir), out: path.join(dir, 'out'), backend: 'interp', batch: 4, seq: 16, steps: 1, ...extra });
    await expect(run('lora targets ["q_proj"]', { init: 'eva' })).rejects.toThrow(/"init_lora_weights" "eva" is not supported: EVA needs/);
    await expect(run('lora targets ["q_proj"] (dropout = 0.1)\nlora targets ["v_proj"]')).rejects.toThrow(/LoRA dropout differs between "blocks.0.attn.q_proj" \(0.1\) and "blocks.0.attn.v_proj" \(0\)/);
    // PEFT's guard keeps modules_to_save out of LoRA, so nothing is left to adapt.
    await expect(run('lora targets ["q_proj"]', { modulesToSave: ['q_proj'] })).rejects.toThrow(/no module was targeted: .* excluded by exclude_modules or modules_to_save/);
  });
});
