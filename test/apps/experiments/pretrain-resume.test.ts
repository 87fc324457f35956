// Pretraining the experiments' base model checkpoints as it goes: a run that finds a checkpoint
// continues from it and ends with exactly the weights and loss history of an uninterrupted run.
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { generateBaseCorpus } from '../../../apps/tasks/base-corpus.ts';
import { pretrainedBase } from '../../../apps/experiments/base-model.ts';
import { corpusRows, plainModel, train, type TrainOptions } from '../../../apps/experiments/lab.ts';
import { fullSettings } from '../../../apps/experiments/settings.ts';
import { initBaseWeights } from '../../../runtime/model/weights.ts';
import { gpuTest } from '../../helpers/gpu.ts';

const s = fullSettings();
const model = { ...s.model, overrides: { ...s.model.overrides, layers: 1, ctx: 64 } };

gpuTest('an interrupted pretraining resumes from its checkpoint to the same weights', async (gpu) => {
  const plain = plainModel(model);
  const rows = corpusRows(generateBaseCorpus({ seed: 1, minChars: 3000 }), 32);
  const init = initBaseWeights(plain, 7);
  const o: TrainOptions = { steps: 6, batch: 2, lr: 3e-3, warmup: 2, seed: 1, full: true, logEvery: 1 };
  const straight = await train(gpu, plain, [init], rows, o);

  // With a checkpoint every 4 steps a finished run leaves the one of step 4 behind (the last step
  // is the caller's to store), which is what a run killed at step 5 would have left.
  const dir = join(mkdtempSync(join(tmpdir(), 'rankfold-pretrain-')), 'partial');
  const first = await train(gpu, plain, [init], rows, { ...o, checkpoint: { dir, saveEvery: 4 } });
  expect(existsSync(join(dir, 'trainer_state.json'))).toBe(true);
  const steps: number[] = [];
  const resumed = await train(gpu, plain, [init], rows, { ...o, checkpoint: { dir, saveEvery: 4 }, onStep: (i) => steps.push(i.step) });
  expect(steps).toEqual([4, 5]); // only the steps after the checkpoint ran

  for (const run of [first, resumed]) {
    expect(run.history.map((h) => [h.step, h.loss])).toEqual(straight.history.map((h) => [h.step, h.loss]));
    for (const [name, w] of straight.weights) expect(run.weights.get(name), name).toEqual(w);
  }
}, 120_000);

gpuTest('a damaged pretraining checkpoint stops with a message that says how to start over', async (gpu) => {
  const plain = plainModel(model);
  const rows = corpusRows(generateBaseCorpus({ seed: 1, minChars: 3000 }), 32);
  const o: TrainOptions = { steps: 3, batch: 2, lr: 3e-3, warmup: 1, seed: 1, full: true, logEvery: 1 };
  const dir = join(mkdtempSync(join(tmpdir(), 'rankfold-pretrain-')), 'partial');
  await train(gpu, plain, [initBaseWeights(plain, 7)], rows, { ...o, checkpoint: { dir, saveEvery: 2 } });
  writeFileSync(join(dir, 'trainer_state.json'), '{"step": 2, trunc');
  await expect(train(gpu, plain, [initBaseWeights(plain, 7)], rows, { ...o, checkpoint: { dir, saveEvery: 2 } })).rejects.toThrow(/not valid JSON[\s\S]*delete .*partial to start this training over/);
}, 120_000);

gpuTest('the base model removes its pretraining checkpoint once it is saved', async (gpu) => {
  const out = mkdtempSync(join(tmpdir(), 'rankfold-pretrain-'));
  const p = { ...s.pretrain, steps: 3, batch: 2, warmup: 1, corpusChars: 3000 };
  const base = await pretrainedBase(gpu, plainModel(model), model, p, 32, out, undefined, 2);
  expect(base.cached).toBe(false);
  expect(readdirSync(out).sort()).toEqual([`base-${base.key}.json`, `base-${base.key}.safetensors`]);
}, 120_000);
