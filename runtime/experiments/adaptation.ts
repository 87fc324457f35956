// Items 4-6: every adapter configuration (and optionally full fine-tuning) trained on each task
// and seed from the same pretrained base, scored by greedy generation; then the subspace
// similarity between the A factors of the r=8 and r=64 adapters on Wq+Wv (paper §7, Figure 3).
import type { CheckedModel } from '../../compiler/check/model.ts';
import { getTask } from '../data/tasks/index.ts';
import type { Task, TaskExample } from '../data/tasks/types.ts';
import type { GpuContext } from '../gpu/device.ts';
import type { WeightMap } from '../model/weights.ts';
import { subspaceSimilarity, svdWide } from '../analysis/svd.ts';
import { adapterA, evaluateTask, freshAdapter, loraModel, taskRows, train } from './lab.ts';
import { uniqueConfigs, type AdapterConfig, type ExperimentSettings } from './settings.ts';
import type { AdaptRun, SubspaceResult } from './types.ts';

/** Fixed data seeds: every configuration and seed sees the same examples (seeds vary init and order). */
export const TRAIN_DATA_SEED = 1000;
export const EVAL_DATA_SEED = 9000;

export interface TaskData {
  task: Task;
  train: TaskExample[];
  eval: TaskExample[];
  /** Eval examples whose prompt also occurs in the training set (the templates' space is small). */
  evalSeenInTrain: number;
}

export function taskData(name: string, s: ExperimentSettings): TaskData {
  const task = getTask(name);
  const trainEx = task.generate(s.adapt.trainExamples, TRAIN_DATA_SEED);
  const evalEx = task.generate(s.adapt.evalExamples, EVAL_DATA_SEED);
  const seen = new Set(trainEx.map((e) => e.prompt));
  return { task, train: trainEx, eval: evalEx, evalSeenInTrain: evalEx.filter((e) => seen.has(e.prompt)).length };
}

/** The subspace pair of Figure 3: A of Wq+Wv at r=8 and at r=64. */
export const SUBSPACE_PAIR = ['WqWv-r8', 'WqWv-r64'] as const;

export interface KeptAdapter {
  task: string;
  seed: number;
  config: AdapterConfig;
  model: CheckedModel;
  weights: WeightMap;
}

export interface AdaptationHooks {
  log?: (line: string) => void;
  /** Adapters to hand back after training (for the subspace and inference items). */
  keep?: (task: string, seed: number, configId: string) => boolean;
}

export async function runAdaptation(
  gpu: GpuContext,
  plain: CheckedModel,
  base: WeightMap,
  s: ExperimentSettings,
  hooks: AdaptationHooks = {},
): Promise<{ runs: AdaptRun[]; kept: KeptAdapter[]; data: Map<string, TaskData> }> {
  const runs: AdaptRun[] = [];
  const kept: KeptAdapter[] = [];
  const data = new Map<string, TaskData>();
  const configs = uniqueConfigs(s);
  const jobs: (AdapterConfig | 'full')[] = [...configs, ...(s.fullFinetuneBaseline ? (['full'] as const) : [])];
  const total = s.tasks.length * s.seeds.length * jobs.length;
  let done = 0;
  for (const name of s.tasks) {
    const d = taskData(name, s);
    data.set(name, d);
    const rows = taskRows(d.train, s.seq);
    for (const seed of s.seeds) {
      for (const job of jobs) {
        const full = job === 'full';
        const model = full ? plain : loraModel(plain, job, s.adapt.alpha);
        const start = full ? [base] : [base, freshAdapter(model, base, seed)];
        const run = await train(gpu, model, start, rows, {
          steps: s.adapt.steps,
          batch: s.adapt.batch,
          lr: full ? s.adapt.fullLr : s.adapt.lr,
          warmup: s.adapt.warmup,
          seed,
          full,
        });
        const evalWeights = full ? [run.weights] : [base, run.weights];
        const score = await evaluateTask(gpu, model, evalWeights, d.task, d.eval, s.seq);
        const id = full ? 'full' : job.id;
        runs.push({
          task: name,
          config: id,
          seed,
          trainableParams: full ? plain.counts.base : model.counts.adapter,
          accuracy: score.accuracy,
          correct: score.correct,
          total: score.total,
          ...(score.perLabel ? { perLabel: score.perLabel } : {}),
          finalLoss: run.history.at(-1)?.loss ?? NaN,
          history: run.history.map((h) => ({ step: h.step + 1, loss: h.loss })),
          trainMs: run.wallMs,
          evalMs: score.wallMs,
          samples: score.samples,
        });
        if (!full && hooks.keep?.(name, seed, id)) kept.push({ task: name, seed, config: job, model, weights: run.weights });
        done++;
        hooks.log?.(`  [${done}/${total}] ${name} seed ${seed} ${id}: accuracy ${score.accuracy.toFixed(3)}, loss ${runs.at(-1)!.finalLoss.toFixed(3)} (${((run.wallMs + score.wallMs) / 1000).toFixed(0)} s)`);
      }
    }
  }
  return { runs, kept, data };
}

/** φ(i, j) between the top right-singular directions of A at r=8 and r=64, per adapted module. */
export function subspaceOf(small: KeptAdapter, large: KeptAdapter): SubspaceResult {
  const a1 = adapterA(small.model, small.weights);
  const a2 = adapterA(large.model, large.weights);
  const grids: SubspaceResult['grids'] = [];
  for (const [module, x] of a1) {
    const y = a2.get(module);
    if (!y || y.cols !== x.cols) continue;
    const s1 = svdWide(x.data, x.r, x.cols);
    const s2 = svdWide(y.data, y.r, y.cols);
    const values = subspaceSimilarity(s1.v, x.r, s2.v, y.r, x.cols);
    grids.push({ module, r1: x.r, r2: y.r, cols: x.cols, values: Array.from(values), singular1: Array.from(s1.s), singular2: Array.from(s2.s) });
  }
  return { task: small.task, seed: small.seed, grids };
}
