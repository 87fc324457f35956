// The store that lets an interrupted `rankfold experiments` resume: a finished run comes back only
// under the settings and data that produced it, and anything unreadable is trained again.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobStore, type JobContext } from '../../../apps/experiments/job-store.ts';
import { freshAdapter, loraModel, plainModel } from '../../../apps/experiments/lab.ts';
import { adapterConfig, quickSettings } from '../../../apps/experiments/settings.ts';
import type { AdaptRun } from '../../../apps/experiments/types.ts';
import { initBaseWeights } from '../../../runtime/model/weights.ts';

const s = quickSettings();
const context: JobContext = { baseKey: 'abc123', adapt: s.adapt, seq: s.seq };
const data = {
  train: [{ prompt: 'p: a. h: b. -> ', completion: 'neutral\n' }],
  eval: [{ prompt: 'p: c. h: d. -> ', completion: 'entailment\n' }],
};
const run: AdaptRun = {
  task: 'nli', config: 'WqWv-r1', seed: 2, trainableParams: 512, accuracy: 0.5, scoredBy: 'likelihood', generatedAccuracy: 0.25,
  correct: 1, total: 2, finalLoss: 0.7, history: [{ step: 10, loss: 0.7 }], trainMs: 1, evalMs: 2, samples: [],
};

function stored() {
  const dir = mkdtempSync(join(tmpdir(), 'rankfold-jobs-'));
  return { dir, store: new JobStore(dir, context) };
}

describe('JobStore', () => {
  it('returns a saved run, with its adapter when one was kept', () => {
    const { dir, store } = stored();
    const plain = plainModel(s.model);
    const model = loraModel(plain, adapterConfig(['Wq', 'Wv'], 1), 8);
    const weights = freshAdapter(model, initBaseWeights(plain, 0), 3);
    expect(store.load('nli', 2, 'WqWv-r1', data, false)).toBeUndefined();
    store.save(run, data, { model, weights });
    expect(store.load('nli', 2, 'WqWv-r1', data, false)).toEqual({ run });
    const back = new JobStore(dir, context).load('nli', 2, 'WqWv-r1', data, true);
    expect(back?.run).toEqual(run);
    expect([...back!.weights!.keys()].sort()).toEqual([...weights.keys()].sort());
    for (const [name, w] of weights) expect(back!.weights!.get(name)).toEqual(w);
  });

  it('misses when the seed, configuration, settings, base or data differ', () => {
    const { dir, store } = stored();
    store.save(run, data);
    expect(store.load('nli', 1, 'WqWv-r1', data, false)).toBeUndefined();
    expect(store.load('nli', 2, 'WqWv-r4', data, false)).toBeUndefined();
    expect(store.load('nli', 2, 'WqWv-r1', data, true)).toBeUndefined(); // no adapter was saved
    expect(new JobStore(dir, { ...context, adapt: { ...s.adapt, steps: s.adapt.steps + 1 } }).load('nli', 2, 'WqWv-r1', data, false)).toBeUndefined();
    expect(new JobStore(dir, { ...context, baseKey: 'other' }).load('nli', 2, 'WqWv-r1', data, false)).toBeUndefined();
    const otherData = { ...data, eval: [{ prompt: 'p: c. h: e. -> ', completion: 'neutral\n' }] };
    expect(store.load('nli', 2, 'WqWv-r1', otherData, false)).toBeUndefined();
  });

  it('treats an unreadable record as not finished', () => {
    const { dir, store } = stored();
    store.save(run, data);
    const [file] = readdirSync(join(dir, 'runs'));
    writeFileSync(join(dir, 'runs', file!), '{"task": "nli", trunc');
    expect(store.load('nli', 2, 'WqWv-r1', data, false)).toBeUndefined();
  });
});
