// runTrainJob in-process on the CPU interpreter: outputs, PEFT compatibility, learning, repeatability,
// LoRA overrides, non-finite losses, merge/unmerge and merged-vs-adapter generation.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateTexts } from '../../../runtime/generate/generate-texts.ts';
import { mergeAdapterIntoBase } from '../../../runtime/adapters/merge-files.ts';
import { UserError } from '../../../compiler/errors.ts';
import { readAdapterDir, readCheckpointDir, readSafetensorsFile, writeCheckpointDir } from '../../../runtime/io/node-fs.ts';
import { applyPeftConfig } from '../../../runtime/adapters/apply-peft.ts';
import { loadSpec } from '../../../runtime/model/load-spec.ts';
import { mergeAdapterWeights, unmergeAdapterWeights } from '../../../runtime/adapters/merge-model.ts';
import { initBaseWeights, readBaseWeights } from '../../../runtime/model/weights.ts';
import { writeModelFile } from '../../../runtime/model/base-weights.ts';
import { adapterWeights } from '../../../runtime/adapters/adapter-weights.ts';
import { runTrainJob, type TrainJobOptions } from '../../../runtime/train/train-job.ts';
import { CONFORMANCE_DIR as conformanceDir } from '../../helpers/conformance.ts';
import { CHAR_GPT, TINY_SET, tmpDir, writeBase, writeJsonl, writeText } from './fixtures.ts';

function job(out: string, data: string, extra: Partial<TrainJobOptions> = {}): TrainJobOptions {
  return { spec: CHAR_GPT, set: TINY_SET, data, out, backend: 'interp', batch: 4, seq: 16, evalEvery: 0, ...extra };
}

/** The spacing of float32 values around x. */
function ulpOf(x: number): number {
  const e = Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -126)));
  return 2 ** (e - 23);
}

describe('runTrainJob', () => {
  it('writes a PEFT adapter, a checkpoint, loss.csv and loss.svg', async () => {
    const dir = tmpDir('train');
    const out = path.join(dir, 'out');
    const r = await runTrainJob(job(out, writeJsonl(dir), { steps: 4, evalEvery: 2, saveEvery: 2 }));
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'loss.csv', 'loss.svg', 'checkpoint/trainer_state.json', 'checkpoint/optimizer.safetensors']) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
    const csv = fs.readFileSync(path.join(out, 'loss.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('step,loss,eval_loss,lr');
    expect(csv).toHaveLength(5);
    expect(r.history.filter((h) => h.eval_loss !== undefined).map((h) => h.step)).toEqual([2, 4]);
    expect(fs.readFileSync(path.join(out, 'loss.svg'), 'utf8')).toMatch(/^<svg/);
    const ck = readCheckpointDir(path.join(out, 'checkpoint'));
    expect(ck.state.step).toBe(4);
    expect([...ck.moments.keys()].sort()).toEqual([...readAdapterDir(out).tensors.keys()].flatMap((m) => [`base_model.model.${m}.lora_A.weight`, `base_model.model.${m}.lora_B.weight`]).sort());
  });

  it('saves keys, shapes and config fields as PEFT does', async () => {
    const dir = tmpDir('peft');
    const out = path.join(dir, 'out');
    await runTrainJob(job(out, writeJsonl(dir), { steps: 2, rank: 4, alpha: 8 }));
    const st = readSafetensorsFile(path.join(out, 'adapter_model.safetensors'));
    expect(st.names.sort()).toEqual(['blocks.0.attn.q_proj', 'blocks.0.attn.v_proj'].flatMap((m) => [`base_model.model.${m}.lora_A.weight`, `base_model.model.${m}.lora_B.weight`]));
    expect(st.info('base_model.model.blocks.0.attn.q_proj.lora_A.weight').shape).toEqual([4, 16]);
    expect(st.info('base_model.model.blocks.0.attn.q_proj.lora_B.weight').shape).toEqual([16, 4]);
    expect(st.metadata).toEqual({ format: 'pt' });
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], task_type: 'CAUSAL_LM', use_dora: false, use_rslora: false });
    // Every field PEFT 0.21 writes is present, so PEFT's LoraConfig.from_pretrained accepts the file.
    const ref = JSON.parse(fs.readFileSync(path.join(conformanceDir, 'llama_qv_r4/adapter/adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(cfg).sort()).toEqual(Object.keys(ref).sort());
    const ad = readAdapterDir(out);
    expect(ad.config.r).toBe(4);
  });

  it('learns a trivially learnable text, and the same seed gives the same curve', async () => {
    const dir = tmpDir('learn');
    const data = writeText(dir);
    const o = { steps: 30, lr: 5e-2, warmup: 0, saveEvery: 30 };
    const a = await runTrainJob(job(path.join(dir, 'a'), data, o));
    const b = await runTrainJob(job(path.join(dir, 'b'), data, o));
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const losses = a.history.map((h) => h.loss);
    expect(losses).toHaveLength(30);
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) - 0.1);
    expect(b.history).toEqual(a.history);
  });

  it('stops on a non-finite loss with a clear message, keeping the last good checkpoint', async () => {
    const dir = tmpDir('nan');
    const out = path.join(dir, 'out');
    const o = job(out, writeText(dir), { lr: 1e-2, warmup: 0 });
    await runTrainJob({ ...o, steps: 2, saveEvery: 1 });
    const adapterOf2 = fs.readFileSync(path.join(out, 'adapter_model.safetensors'));
    // An optimizer state that throws the next update far past float32 (finite, so it loads).
    const ckDir = path.join(out, 'checkpoint');
    const ck = readCheckpointDir(ckDir);
    for (const m of ck.moments.values()) {
      m.exp_avg.data.fill(3e38);
      m.exp_avg_sq.data.fill(0);
    }
    writeCheckpointDir(ckDir, ck);
    const err = await runTrainJob({ ...o, steps: 6, saveEvery: 10, resume: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`loss became NaN at step 4; training stopped: the updates diverged (try a lower --lr than 0.01); the last good checkpoint (step 2) is kept in ${ckDir}`);
    expect(readCheckpointDir(ckDir).state.step).toBe(2);
    expect(fs.readFileSync(path.join(out, 'adapter_model.safetensors'))).toEqual(adapterOf2); // the last finished run's
    expect(fs.readFileSync(path.join(out, 'loss.svg'), 'utf8')).toContain('stopped at step 4');
    // Saving every step, the diverged weights themselves are refused before they are written.
    const again = await runTrainJob({ ...o, steps: 6, saveEvery: 1, resume: true }).catch((e: unknown) => e);
    expect((again as Error).message).toBe(
      'after step 3: tensor "base_model.model.blocks.0.attn.q_proj.lora_A.weight" holds -Infinity at index 0 (element [0, 0]) and 127 more non-finite values; ' +
        'the training diverged (try a lower --lr); nothing written for this step',
    );
    expect(readCheckpointDir(ckDir).state.step).toBe(2);
  });

  it('a non-finite loss before any update blames the weights, not the learning rate', async () => {
    const dir = tmpDir('nan-first');
    const model = loadSpec(CHAR_GPT, { overrides: TINY_SET });
    const w = initBaseWeights(model, 1);
    // Finite, but logits of about 1e40 overflow float32.
    w.get('lm_head.weight')!.forEach((_, i, a) => (a[i] = i % 2 ? 3e38 : -3e38));
    const weights = path.join(dir, 'huge.safetensors');
    writeModelFile(weights, model, w);
    const err = await runTrainJob(job(path.join(dir, 'out'), writeText(dir), { steps: 3, weights })).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'loss became NaN at step 1; training stopped: the forward pass before any update of this run is not finite, so the weights or data overflow float32 ' +
        '(the weights were checked finite on load; look for huge values or --set sizes), not the learning rate; no checkpoint had been saved yet',
    );
  });

  it('refuses to overwrite a checkpoint without --resume, and a resume with other settings', async () => {
    const dir = tmpDir('guard');
    const out = path.join(dir, 'out');
    const data = writeJsonl(dir);
    await runTrainJob(job(out, data, { steps: 2 }));
    await expect(runTrainJob(job(out, data, { steps: 2 }))).rejects.toThrow(/already holds a checkpoint: pass --resume/);
    await expect(runTrainJob(job(out, data, { steps: 4, resume: true, batch: 2 }))).rejects.toThrow(/trained with other settings \(batch 4 -> 2\)/);
    await expect(runTrainJob(job(out, data, { steps: 4, resume: true, rank: 2 }))).rejects.toThrow(/rank 8 -> 2/);
  });

  it('merge -> generate equals generate with the adapter (greedy), and unmerge returns W0 within one ulp', async () => {
    const dir = tmpDir('merge');
    const out = path.join(dir, 'out');
    const weights = writeBase(dir);
    await runTrainJob(job(out, writeText(dir), { steps: 6, lr: 5e-2, warmup: 0, weights }));
    const mergedFile = path.join(dir, 'merged.safetensors');
    expect(await mergeAdapterIntoBase({ spec: CHAR_GPT, set: TINY_SET, weights, adapter: out, out: mergedFile })).toEqual({ mergedLayers: 2, tensors: readSafetensorsFile(weights).names.length });
    const input = readSafetensorsFile(weights);
    const merged = readSafetensorsFile(mergedFile);
    expect(merged.names.sort()).toEqual(input.names.sort());

    const gen = { spec: CHAR_GPT, set: TINY_SET, prompt: 'abab', maxNewTokens: 12, backend: 'interp' } as const;
    const withAdapter = await generateTexts({ ...gen, weights, adapters: [out] });
    const withMerged = await generateTexts({ ...gen, weights: mergedFile });
    expect(withAdapter[0]!.adapter).toBe(out);
    expect(withMerged[0]!.adapter).toBeUndefined();
    expect(withMerged[0]!.text).toBe(withAdapter[0]!.text);
    expect(withAdapter[0]!.text).toHaveLength(12);

    const adapter = readAdapterDir(out);
    const model = applyPeftConfig(loadSpec(CHAR_GPT, { overrides: TINY_SET }), adapter.config);
    const base = readBaseWeights(model, input);
    const lora = adapterWeights(model, adapter, out);
    const m = mergeAdapterWeights(model, base, lora);
    const back = unmergeAdapterWeights(model, m, lora);
    for (const l of model.lora) {
      const name = `${l.module}.weight`;
      const w0 = base.get(name)!;
      const mw = m.get(name)!;
      expect(mw).toEqual(merged.getFloat32(name));
      expect(mw.some((v, i) => v !== w0[i])).toBe(true);
      // Rounding W0 + ΔW to float32 loses up to half an ulp of the merged value: the bound is one.
      const b = back.get(name)!;
      for (let i = 0; i < w0.length; i++) expect(Math.abs(b[i]! - w0[i]!)).toBeLessThanOrEqual(ulpOf(mw[i]!));
    }
  });
});
