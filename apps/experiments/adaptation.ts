// Items 4-6: every adapter configuration (and optionally full fine-tuning) trained on each task
// and seed from the same pretrained base, scored by greedy generation; then the subspace
// similarity between the A factors of the r=8 and r=64 adapters on Wq+Wv (paper §7, Figure 3).
import type { CheckedModel } from '../../compiler/check/model.ts';
import { getTask } from '../tasks/index.ts';
import { END, type Task, type TaskExample } from '../tasks/types.ts';
import type { GpuContext } from '../../runtime/device/device.ts';
import type { WeightMap } from '../../runtime/model/weights.ts';
import { subspaceSimilarity, svdWide } from '../../runtime/analysis/svd.ts';
import { formatDuration } from '../../runtime/report/progress.ts';
import type { JobStore } from './job-store.ts';
import { adapterA, evaluateTask, freshAdapter, loraModel, taskRows, tokenizer, train } from './lab.ts';
import { uniqueConfigs, type AdapterConfig, type ExperimentSettings } from './settings.ts';
import type { AdaptRun, SubspaceResult } from './types.ts';

/** Fixed data seeds: every configuration and seed sees the same examples (seeds vary init and order). */
export const TRAIN_DATA_SEED = 1000;
export const EVAL_DATA_SEED = 9000;

export interface TaskData {
  task: Task;
  train: TaskExample[];
  /** Evaluation examples whose prompts never occur in `train` (and each once). */
  eval: TaskExample[];
  /** Candidates drawn to find them: how much of the eval stream training prompts covered. */
  evalCandidates: number;
}

export function taskData(name: string, s: ExperimentSettings): TaskData {
  const task = getTask(name);
  const train = task.generate(s.adapt.trainExamples, TRAIN_DATA_SEED);
  const { examples, candidates } = heldOutExamples(task, s.adapt.evalExamples, EVAL_DATA_SEED, new Set(train.map((e) => e.prompt)));
  checkFits(task, [...train, ...examples], s.seq);
  return { task, train, eval: examples, evalCandidates: candidates };
}

/** Every example, and every prompt with each label when the task ranks labels, must fit one row. */
function checkFits(task: Task, examples: readonly TaskExample[], seq: number): void {
  const bytes = (text: string) => tokenizer.encode(text).length;
  const longestLabel = Math.max(0, ...(task.labels ?? []).map((l) => bytes(l + END)));
  for (const e of examples) {
    const n = bytes(e.prompt) + Math.max(bytes(e.completion), longestLabel);
    if (n > seq) throw new Error(`${task.name}: "${e.prompt}" needs ${n} tokens with its longest answer, more than the sequence length ${seq}`);
  }
}

/**
 * `count` examples from the task's stream at `seed` whose prompts are not in `seen` (the training
 * prompts; the templates' space is small, so without this a score partly measures recall). For
 * classification tasks the labels are taken in turn, which keeps them balanced.
 */
export function heldOutExamples(task: Task, count: number, seed: number, seen: ReadonlySet<string>): { examples: TaskExample[]; candidates: number } {
  const pool = task.generate(count * 50, seed);
  const fresh = new Set<string>();
  const byLabel = new Map<string, TaskExample[]>();
  for (const e of pool) {
    if (seen.has(e.prompt) || fresh.has(e.prompt)) continue;
    fresh.add(e.prompt);
    const key = e.label ?? '';
    const queue = byLabel.get(key);
    if (queue) queue.push(e);
    else byLabel.set(key, [e]);
  }
  const queues = [...byLabel.values()];
  const examples: TaskExample[] = [];
  for (let i = 0; examples.length < count && queues.some((q) => q.length > i); i++) {
    for (const q of queues) if (q[i] && examples.length < count) examples.push(q[i]!);
  }
  if (examples.length < count) {
    throw new Error(`${task.name}: only ${examples.length} of ${count} evaluation prompts are not among the training prompts (${pool.length} drawn)`);
  }
  return { examples, candidates: pool.length };
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
  /** Finished runs saved as they end and reused on a rerun (resume after an interruption). */
  store?: JobStore;
}

export async function runAdaptation(
  gpu: GpuContext,
  plain: CheckedModel,
  base: WeightMap,
  s: ExperimentSettings,
  data: ReadonlyMap<string, TaskData>,
  hooks: AdaptationHooks = {},
): Promise<{ runs: AdaptRun[]; kept: KeptAdapter[]; reused: number }> {
  const runs: AdaptRun[] = [];
  const kept: KeptAdapter[] = [];
  const configs = uniqueConfigs(s);
  const jobs: (AdapterConfig | 'full')[] = [...configs, ...(s.fullFinetuneBaseline ? (['full'] as const) : [])];
  const total = s.tasks.length * s.seeds.length * jobs.length;
  let done = 0;
  let reused = 0;
  let trainedMs = 0;
  for (const name of s.tasks) {
    const d = data.get(name);
    if (!d) throw new Error(`runAdaptation: no data for task ${name}`);
    const rows = taskRows(d.train, s.seq);
    for (const seed of s.seeds) {
      for (const job of jobs) {
        const full = job === 'full';
        const id = full ? 'full' : job.id;
        const model = full ? plain : loraModel(plain, job, s.adapt.alpha);
        const keep = !full && (hooks.keep?.(name, seed, id) ?? false);
        const stored = hooks.store?.load(name, seed, id, d, keep);
        let run: AdaptRun;
        let weights: WeightMap | undefined;
        if (stored) {
          ({ run, weights } = stored);
          reused++;
        } else {
          ({ run, weights } = await adaptOnce(gpu, plain, model, base, s, d, rows, full ? 'full' : job, seed));
          hooks.store?.save(run, d, keep ? { model, weights } : undefined);
        }
        runs.push(run);
        if (!full && keep && weights) kept.push({ task: name, seed, config: job, model, weights });
        done++;
        const seconds = ((run.trainMs + run.evalMs) / 1000).toFixed(0);
        if (!stored) trainedMs += run.trainMs + run.evalMs;
        // Remaining time from the runs trained in this process (reused ones cost nothing).
        const left = done - reused > 0 && done < total ? `; about ${formatDuration(((total - done) * trainedMs) / (done - reused) / 1000)} left` : '';
        hooks.log?.(
          `  [${done}/${total}] ${name} seed ${seed} ${id}: accuracy ${run.accuracy.toFixed(3)}${run.scoredBy === 'likelihood' ? ` (generated ${run.generatedAccuracy.toFixed(3)})` : ''}${run.partialAccuracy !== undefined ? ` (${d.task.partial?.name ?? 'partial'} ${run.partialAccuracy.toFixed(3)})` : ''}, loss ${run.finalLoss.toFixed(3)} (${stored ? `saved earlier, took ${seconds} s` : `${seconds} s`}${left})`,
        );
      }
    }
  }
  return { runs, kept, reused };
}

/** Trains one job from the base and scores it on the task's held-out examples. */
async function adaptOnce(
  gpu: GpuContext,
  plain: CheckedModel,
  model: CheckedModel,
  base: WeightMap,
  s: ExperimentSettings,
  d: TaskData,
  rows: ReturnType<typeof taskRows>,
  job: AdapterConfig | 'full',
  seed: number,
): Promise<{ run: AdaptRun; weights: WeightMap }> {
  const full = job === 'full';
  const start = full ? [base] : [base, freshAdapter(model, base, seed)];
  const steps = (full ? undefined : job.steps) ?? s.adapt.steps;
  const trained = await train(gpu, model, start, rows, {
    steps,
    batch: s.adapt.batch,
    lr: full ? s.adapt.fullLr : s.adapt.lr,
    warmup: s.adapt.warmup,
    seed,
    full,
  });
  const evalWeights = full ? [trained.weights] : [base, trained.weights];
  const score = await evaluateTask(gpu, model, evalWeights, d.task, d.eval, s.seq);
  const run: AdaptRun = {
    task: d.task.name,
    config: full ? 'full' : job.id,
    seed,
    trainableParams: full ? plain.counts.base : model.counts.adapter,
    steps,
    accuracy: score.accuracy,
    scoredBy: score.scoredBy,
    generatedAccuracy: score.generated.accuracy,
    ...(score.partial ? { partialAccuracy: score.partial.accuracy } : {}),
    correct: score.correct,
    total: score.total,
    ...(score.perLabel ? { perLabel: score.perLabel } : {}),
    finalLoss: trained.history.at(-1)?.loss ?? NaN,
    history: trained.history.map((h) => ({ step: h.step + 1, loss: h.loss })),
    trainMs: trained.wallMs,
    evalMs: score.wallMs,
    samples: score.samples,
  };
  return { run, weights: trained.weights };
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
