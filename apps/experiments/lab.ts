// The bench every trained experiment shares: the small char GPT (its plain form and LoRA variants
// of it), task data as padded rows with the loss on the completion only, a training run that hands
// back the trained weights, and evaluation by greedy batched generation with the task's scorer
// (and, for classification tasks, by the most likely label).
import type { CheckedModel } from '../../compiler/check/model.ts';
import { loraParamNames } from '../../compiler/lora/keys.ts';
import { packConcat, packPadded, tokenizeExample, type Rows } from '../../runtime/data/dataset.ts';
import { BatchLoader } from '../../runtime/data/loader.ts';
import { END, type EvalResult, type Task, type TaskExample } from '../tasks/types.ts';
import { ByteTokenizer } from '../../runtime/data/tokenizer.ts';
import type { Executor } from '../../runtime/exec/executor.ts';
import { paramNames } from '../../runtime/exec/executor.ts';
import { rankCandidates } from '../../runtime/generate/classify.ts';
import { Generator } from '../../runtime/generate/generator.ts';
import type { GpuContext } from '../../runtime/device/device.ts';
import { makePeftConfig } from '../../runtime/io/peft.ts';
import { applyPeftConfig } from '../../runtime/adapters/apply-peft.ts';
import { compile, DEFAULT_ADAMW } from '../../compiler/compile.ts';
import { createExecutor } from '../../runtime/exec/create.ts';
import { targetFor } from '../../runtime/device/target.ts';
import { loadSpec } from '../../runtime/model/load-spec.ts';
import { stripAdapters } from '../../runtime/adapters/merge-model.ts';
import { setWeights, type WeightMap } from '../../runtime/model/weights.ts';
import { initAdapterWeights } from '../../runtime/adapters/init.ts';
import { UserError } from '../../compiler/errors.ts';
import { TRAINER_STATE_FORMAT, type TrainerState } from '../../runtime/io/checkpoint.ts';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../../runtime/train/checkpoints.ts';
import { trainLoop, type StepInfo } from '../../runtime/train/trainer.ts';
import { PROJECTIONS, type AdapterConfig, type ModelSettings } from './settings.ts';

export const tokenizer = new ByteTokenizer();
const NEWLINE = 10;

/** The spec without its own `lora` statement: what pretraining, merged inference and full fine-tuning run. */
export function plainModel(m: ModelSettings): CheckedModel {
  return stripAdapters(loadSpec(m.spec, { overrides: m.overrides }));
}

/** The plain model with LoRA on the configuration's projections (PEFT semantics: suffix match). */
export function loraModel(plain: CheckedModel, c: AdapterConfig, alpha: number): CheckedModel {
  const config = makePeftConfig({ target_modules: c.targets.map((t) => PROJECTIONS[t]), r: c.r, lora_alpha: alpha, lora_dropout: 0 });
  return applyPeftConfig(plain, config, c.id);
}

export function corpusRows(text: string, seq: number): Rows {
  return packConcat([tokenizeExample(tokenizer, { text }, { appendEos: false })], seq);
}

/** One example a row; the prompt's labels are ignored, so the loss is on the completion only. */
export function taskRows(examples: readonly TaskExample[], seq: number): Rows {
  const tokenized = examples.map((e) => tokenizeExample(tokenizer, { prompt: e.prompt, completion: e.completion }, { appendEos: false }));
  return packPadded(tokenized, seq, { overflow: 'error' });
}

export interface TrainOptions {
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  seed: number;
  /** Train every weight (the model must have no adapters). */
  full: boolean;
  logEvery?: number;
  onStep?: (info: StepInfo) => void;
  /**
   * Full fine-tuning only: save the whole training state here every `saveEvery` steps and resume
   * from it when it exists, so an interrupted long run (the full experiments' pretraining) keeps
   * its progress. The caller removes it once the run's result is stored.
   */
  checkpoint?: { dir: string; saveEvery: number };
}

export interface TrainResult {
  /** The trained weights: every base weight for full fine-tuning, the adapter's A and B for LoRA. */
  weights: WeightMap;
  history: StepInfo[];
  wallMs: number;
  /** The training executor's peak GPU bytes (runtime allocation accounting). */
  peakBytes: number;
}

export async function trainGraphExecutor(gpu: GpuContext, model: CheckedModel, batch: number, seq: number, full: boolean): Promise<Executor> {
  return createExecutor(compile(model, { mode: 'train', batch, seq, fullFinetune: full, target: targetFor(gpu) }), { backend: 'webgpu', gpu });
}

/** Fresh adapter weights for a LoRA model (PEFT's init: Kaiming-uniform A, zero B). */
export function freshAdapter(model: CheckedModel, base: WeightMap, seed: number): WeightMap {
  return initAdapterWeights(model, base, seed);
}

export async function readParams(exec: Executor, roles: ReadonlyArray<'frozen' | 'adapter' | 'trainable'>): Promise<WeightMap> {
  const out: WeightMap = new Map();
  for (const name of paramNames(exec.graph, roles)) out.set(name, await exec.getParam(name));
  return out;
}

export async function train(gpu: GpuContext, model: CheckedModel, start: WeightMap[], rows: Rows, o: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const exec = await trainGraphExecutor(gpu, model, o.batch, rows.seqLen, o.full);
  try {
    for (const w of start) setWeights(exec, w);
    const resumed = o.checkpoint ? resumeState(exec, model, o) : undefined;
    const loader = new BatchLoader(rows, { batchSize: o.batch, seed: o.seed, ...(resumed ? { cursor: resumed.state.data_cursor } : {}) });
    const earlier = resumed?.extra.history ?? [];
    const earlierMs = resumed?.extra.wallMs ?? 0;
    const logged: StepInfo[] = [];
    await trainLoop(
      exec,
      loader,
      {
        steps: o.steps,
        schedule: { kind: 'cosine', lr: o.lr, warmupSteps: o.warmup, totalSteps: o.steps, minLrRatio: 0.1 },
        adamw: DEFAULT_ADAMW,
        logEvery: o.logEvery ?? 10,
        evalEvery: 0,
        startStep: resumed?.state.step ?? 0,
      },
      {
        onStep: (info) => {
          logged.push(info);
          o.onStep?.(info);
        },
        onGoodStep: async (step, cursor) => {
          const c = o.checkpoint;
          if (!c || (step + 1) % c.saveEvery !== 0 || step + 1 === o.steps) return;
          const extra: ResumeExtra = { history: [...earlier, ...logged], wallMs: earlierMs + performance.now() - t0 };
          const state: TrainerState = {
            format: TRAINER_STATE_FORMAT,
            version: 1,
            step: step + 1,
            data_cursor: cursor,
            rng_state: [0, 0, 0, 0], // no dropout while pretraining: nothing random in the step
            optimizer: { name: 'adamw', lr: o.lr, betas: [DEFAULT_ADAMW.beta1, DEFAULT_ADAMW.beta2], eps: DEFAULT_ADAMW.eps, weight_decay: DEFAULT_ADAMW.weightDecay },
            loss_history: extra.history.map((h) => ({ step: h.step + 1, loss: h.loss })),
            extra: extra as unknown as Record<string, unknown>,
          };
          await saveCheckpoint(c.dir, exec, model, true, undefined, state);
        },
      },
    );
    const weights = await readParams(exec, o.full ? ['trainable'] : ['adapter']);
    const peakBytes = (exec as { stats?: { peakBytes: number } }).stats?.peakBytes ?? 0;
    return { weights, history: [...earlier, ...logged], wallMs: earlierMs + performance.now() - t0, peakBytes };
  } finally {
    exec.destroy();
  }
}

/** What a pretraining checkpoint keeps besides the weights and moments (trainer_state.json's extra). */
interface ResumeExtra {
  history: StepInfo[];
  wallMs: number;
}

function resumeState(exec: Executor, model: CheckedModel, o: TrainOptions): { state: TrainerState; extra: ResumeExtra } | undefined {
  const c = o.checkpoint!;
  if (!o.full) throw new Error('train: checkpoints are for full fine-tuning runs only');
  if (!hasCheckpoint(c.dir)) return undefined;
  let ck: ReturnType<typeof loadCheckpoint>;
  try {
    ck = loadCheckpoint(c.dir, model, true);
    ck.apply(exec);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    throw new UserError(`${err.message}\n(cannot resume from it; delete ${c.dir} to start this training over)`);
  }
  return { state: ck.state, extra: ck.state.extra as unknown as ResumeExtra };
}

export interface TaskScore extends EvalResult {
  /** How `accuracy` was decided: the most likely label (classification tasks) or the generated answer. */
  scoredBy: 'likelihood' | 'generation';
  /** The greedy generations' own score (equal to the main one when scoredBy is 'generation'). */
  generated: EvalResult;
  /** The task's looser score of the generations (Task.partial), when it has one. */
  partial?: EvalResult;
  /** A few (prompt, expected, generated) triples for the report. */
  samples: { prompt: string; expected: string; generated: string }[];
  /** Greedy generations, one per example. */
  predictions: string[];
  wallMs: number;
}

/** Rows per forward pass of rank classification (3 labels x 32 prompts for NLI). */
const RANK_BATCH = 24;

/**
 * Scores a model on a task: greedy generation (batched, KV cache) of each prompt's continuation,
 * scored by the task; for classification tasks (task.labels) the main score is rank classification,
 * the most likely label, so that a decision is not lost to a misspelt label.
 */
export async function evaluateTask(gpu: GpuContext, model: CheckedModel, weights: WeightMap[], task: Task, examples: readonly TaskExample[], seq: number): Promise<TaskScore> {
  const t0 = performance.now();
  const batch = Math.min(128, examples.length);
  const gen = await Generator.create(model, weights, { backend: 'webgpu', gpu, batch, cacheLen: seq });
  let predictions: string[];
  try {
    const prompts = examples.map((e) => tokenizer.encode(e.prompt));
    const maxNewTokens = Math.max(...examples.map((e) => tokenizer.encode(e.completion).length)) + 1;
    const out = await gen.generate(prompts, { maxNewTokens, stopToken: NEWLINE, temperature: 0 });
    predictions = out.map((ids) => tokenizer.decode(ids));
  } finally {
    gen.destroy();
  }
  const generated = task.evaluate(predictions, examples);
  const samples = examples.slice(0, 4).map((e, i) => ({ prompt: e.prompt, expected: e.completion.trim(), generated: predictions[i]!.trim() }));
  const partial = task.partial?.evaluate(predictions, examples);
  const common = { generated, samples, predictions, ...(partial ? { partial } : {}) };
  if (!task.labels) return { ...generated, ...common, scoredBy: 'generation', wallMs: performance.now() - t0 };
  const labels = task.labels;
  const exec = await createExecutor(compile(model, { mode: 'eval', batch: RANK_BATCH, seq, target: targetFor(gpu) }), { backend: 'webgpu', gpu });
  try {
    for (const w of weights) setWeights(exec, w);
    const ranked = await rankCandidates(exec, tokenizer, examples.map((e) => e.prompt), labels.map((l) => l + END), RANK_BATCH, seq);
    const score = task.evaluate(ranked.choice.map((c) => labels[c]! + END), examples);
    return { ...score, ...common, scoredBy: 'likelihood', wallMs: performance.now() - t0 };
  } finally {
    exec.destroy();
  }
}

/** The A factors of a trained adapter by module, for the subspace analysis. */
export function adapterA(model: CheckedModel, weights: WeightMap): Map<string, { data: Float32Array; r: number; cols: number }> {
  const out = new Map<string, { data: Float32Array; r: number; cols: number }>();
  for (const t of model.lora) {
    const a = weights.get(loraParamNames(t.module).a);
    if (a) out.set(t.module, { data: a, r: t.config.rank, cols: t.inFeatures });
  }
  return out;
}
