// The small base model every adaptation starts from: the char GPT pretrained once with full
// fine-tuning on the shipped base corpus, cached in the output folder under a key made of every
// setting that changes it (the corpus text included), so a rerun (or the full run after --quick with the same budget) skips it.
// Pretraining saves a checkpoint as it goes (base-<key>.partial/), so an interrupted run resumes it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../../runtime/io/atomic.ts';
import { join } from 'node:path';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { generateBaseCorpus } from '../tasks/base-corpus.ts';
import type { GpuContext } from '../../runtime/device/device.ts';
import { readSafetensorsFile, writeSafetensorsFile } from '../../runtime/io/node-fs.ts';
import { baseWeights, initBaseWeights, readBaseWeights, type WeightMap } from '../../runtime/model/weights.ts';
import type { StepInfo } from '../../runtime/train/trainer.ts';
import { corpusRows, train } from './lab.ts';
import type { ModelSettings, PretrainSettings } from './settings.ts';

export const PRETRAIN_SAVE_EVERY = 250;

export interface BaseModel {
  weights: WeightMap;
  history: { step: number; loss: number }[];
  /** Wall time of the pretraining that produced it (from the cache when it was reused). */
  wallMs: number;
  cached: boolean;
  file: string;
  /** The cache key: a hash of every setting that made this base (runs trained from it are keyed by it). */
  key: string;
  corpusChars: number;
}

export function baseCacheKey(model: ModelSettings, p: PretrainSettings, seq: number, corpus: string): string {
  const corpusHash = createHash('sha256').update(corpus).digest('hex');
  const text = JSON.stringify({ overrides: model.overrides, spec: model.spec.split('/').pop(), seq, ...p, corpusHash });
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

export async function pretrainedBase(
  gpu: GpuContext,
  plain: CheckedModel,
  model: ModelSettings,
  p: PretrainSettings,
  seq: number,
  dir: string,
  onStep?: (info: StepInfo) => void,
  saveEvery = PRETRAIN_SAVE_EVERY,
): Promise<BaseModel> {
  const corpus = generateBaseCorpus({ seed: p.seed, minChars: p.corpusChars });
  const key = baseCacheKey(model, p, seq, corpus);
  const file = join(dir, `base-${key}.safetensors`);
  const meta = join(dir, `base-${key}.json`);
  if (existsSync(file) && existsSync(meta)) {
    const saved = JSON.parse(readFileSync(meta, 'utf8')) as { history: BaseModel['history']; wallMs: number };
    return { weights: readBaseWeights(plain, readSafetensorsFile(file)), history: saved.history, wallMs: saved.wallMs, cached: true, file, key, corpusChars: corpus.length };
  }
  const init = initBaseWeights(plain, p.seed);
  const rows = corpusRows(corpus, seq);
  // A checkpoint every PRETRAIN_SAVE_EVERY steps: the full run's pretraining takes about 20 minutes
  // on lavapipe, and an interruption resumes from the last one instead of from step 0.
  mkdirSync(dir, { recursive: true });
  const partial = join(dir, `base-${key}.partial`);
  const checkpoint = { dir: partial, saveEvery };
  const run = await train(gpu, plain, [init], rows, { steps: p.steps, batch: p.batch, lr: p.lr, warmup: p.warmup, seed: p.seed, full: true, logEvery: 10, checkpoint, ...(onStep ? { onStep } : {}) });
  const shapes = new Map(baseWeights(plain).map((w) => [w.name, w.shape]));
  const tensors = new Map([...run.weights].map(([name, data]) => [name, { shape: shapes.get(name)!, data }]));
  writeSafetensorsFile(file, tensors, { format: 'pt', rankfold_experiment: 'base', key });
  const history = run.history.map((h) => ({ step: h.step + 1, loss: h.loss }));
  writeFileAtomic(meta, JSON.stringify({ key, settings: { model: model.overrides, seq, pretrain: p }, history, wallMs: run.wallMs }, null, 1));
  rmSync(partial, { recursive: true, force: true });
  return { weights: run.weights, history, wallMs: run.wallMs, cached: false, file, key, corpusChars: corpus.length };
}
