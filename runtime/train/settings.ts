// Resolving a training job's settings: command-line flags (or a script's options) override the
// spec's `train { }` block, which overrides the defaults below. One function so the CLI, scripts
// and a resumed run all agree on what a run means.
import type { CheckedModel, TrainConfig } from '../../compiler/check/model.ts';
import { UserError } from '../../compiler/errors.ts';
import type { ScheduleKind } from './schedule.ts';
import { RECOMPUTE_MODES, type RecomputeMode } from '../../compiler/passes/recompute.ts';

/** What a caller may set; every field is optional and wins over the spec's train block. */
export interface TrainOverrides {
  steps?: number;
  lr?: number;
  weightDecay?: number;
  batch?: number;
  seq?: number;
  seed?: number;
  warmup?: number;
  schedule?: ScheduleKind;
  maxGradNorm?: number;
  gradAccum?: number;
  evalEvery?: number;
  saveEvery?: number;
  logEvery?: number;
  evalFraction?: number;
  /** Held-out rows evaluated at most (evenly spaced over the held-out set). */
  evalRows?: number;
  rank?: number;
  alpha?: number;
  /** Block recompute (gradient checkpointing); default the spec's train block, else 'none'. */
  recompute?: RecomputeMode;
}

export interface TrainSettings {
  steps: number;
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  schedule: ScheduleKind;
  warmup: number;
  /** Floor of the decay as a fraction of lr (the spec's min_lr / lr). */
  minLrRatio: number;
  batch: number;
  seq: number;
  seed: number;
  /** Global gradient-norm clip (0 = off). */
  maxGradNorm: number;
  gradAccum: number;
  /** 0 = no evaluation. */
  evalEvery: number;
  /** Checkpoint every this many steps (and always at the end). */
  saveEvery: number;
  logEvery: number;
  evalFraction: number;
  evalRows: number;
  recompute: RecomputeMode;
}

// Defaults follow common LoRA recipes (transformers' Trainer for the clip norm and betas).
// evalRows bounds each evaluation (HF's example scripts call it max_eval_samples); 256 rows of the
// default 128 tokens are 32k tokens, a loss estimate good to about a percent.
const DEFAULTS = { steps: 100, lr: 2e-4, weightDecay: 0, batch: 8, seq: 128, seed: 0, warmup: 0, maxGradNorm: 1, evalFraction: 0.1, logEvery: 1, evalRows: 256 };

/**
 * The largest learning rate accepted. An AdamW step moves every weight by about lr whatever the
 * gradient (Adam divides by the gradient's own scale, so clipping does not bound it): above 1 every
 * step overwrites the weights, and --lr 1e30 would "train" to 1e30-sized weights.
 */
export const MAX_LR = 1;

function posInt(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new UserError(`${name} must be a positive integer, got ${v}`);
}

/** How many positions the model can see (learned position tables); undefined when unbounded (RoPE). */
export function maxPositions(model: CheckedModel): number | undefined {
  const pos = model.ops.find((o) => o.op === 'position_embedding');
  return pos && pos.op === 'position_embedding' ? pos.num : undefined;
}

export function resolveTrainSettings(model: CheckedModel, o: TrainOverrides = {}): TrainSettings {
  const t: TrainConfig = model.train ?? {};
  const opt = t.optimizer;
  if (opt && opt.name === 'sgd') throw new UserError(`${model.file}: train supports the adamw optimizer only (the spec asks for sgd)`);
  if (opt && opt.name === 'adam' && opt.weightDecay !== 0) {
    // torch's Adam adds weight decay to the gradient (L2), not decoupled as AdamW: a different update.
    throw new UserError(`${model.file}: adam with weight_decay is not AdamW; use adamw(...)`);
  }
  for (const [k, v] of Object.entries({ steps: o.steps, batch: o.batch, seq: o.seq, 'grad-accum': o.gradAccum, 'log-every': o.logEvery, rank: o.rank, 'eval-rows': o.evalRows })) posInt(`--${k}`, v);
  for (const [k, v] of Object.entries({ 'eval-every': o.evalEvery, 'save-every': o.saveEvery, warmup: o.warmup, seed: o.seed })) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new UserError(`--${k} must be a non-negative integer, got ${v}`);
  }
  if (o.seed !== undefined && o.seed > 0xffffffff) throw new UserError(`--seed must be an integer from 0 to 4294967295, got ${o.seed}`);
  const lr = o.lr ?? opt?.lr ?? DEFAULTS.lr;
  const lrName = o.lr !== undefined ? '--lr' : `the learning rate of ${model.file}`;
  if (!(lr > 0 && Number.isFinite(lr))) throw new UserError(`${lrName} must be a positive number, got ${lr}`);
  if (lr > MAX_LR) {
    throw new UserError(`${lrName} ${lr} is above ${MAX_LR}: an AdamW step moves every weight by about lr, so this would overwrite the weights at every step (LoRA rates are typically 1e-5 to 1e-2)`);
  }
  if (o.alpha !== undefined && !(o.alpha > 0)) throw new UserError(`--alpha must be positive, got ${o.alpha}`);
  if (o.recompute !== undefined && !RECOMPUTE_MODES.includes(o.recompute)) throw new UserError(`--recompute must be one of ${RECOMPUTE_MODES.join(', ')}, got "${o.recompute}"`);
  const steps = o.steps ?? t.steps ?? DEFAULTS.steps;
  const seq = o.seq ?? t.seq ?? Math.min(DEFAULTS.seq, maxPositions(model) ?? DEFAULTS.seq);
  const positions = maxPositions(model);
  if (positions !== undefined && seq > positions) throw new UserError(`--seq ${seq} is longer than the ${positions} positions ${model.file} has`);
  if (seq < 2) throw new UserError(`--seq must be at least 2, got ${seq}`);
  const evalFraction = o.evalFraction ?? DEFAULTS.evalFraction;
  if (!(evalFraction >= 0 && evalFraction < 1)) throw new UserError(`--eval-fraction must be in [0, 1), got ${evalFraction}`);
  const maxGradNorm = o.maxGradNorm ?? t.maxGradNorm ?? DEFAULTS.maxGradNorm;
  if (!(maxGradNorm >= 0)) throw new UserError(`--max-grad-norm must be >= 0, got ${maxGradNorm}`);
  const minLr = t.schedule?.minLr ?? 0;
  return {
    steps,
    lr,
    weightDecay: o.weightDecay ?? opt?.weightDecay ?? DEFAULTS.weightDecay,
    beta1: opt?.beta1 ?? 0.9,
    beta2: opt?.beta2 ?? 0.999,
    eps: opt?.eps ?? 1e-8,
    schedule: o.schedule ?? t.schedule?.name ?? 'cosine',
    warmup: o.warmup ?? t.schedule?.warmup ?? DEFAULTS.warmup,
    minLrRatio: Math.min(1, minLr / lr),
    batch: o.batch ?? t.batch ?? DEFAULTS.batch,
    seq,
    seed: o.seed ?? t.seed ?? DEFAULTS.seed,
    maxGradNorm,
    gradAccum: o.gradAccum ?? t.gradAccum ?? 1,
    evalEvery: o.evalEvery ?? t.evalEvery ?? Math.max(1, Math.floor(steps / 10)),
    saveEvery: o.saveEvery ?? t.saveEvery ?? Math.max(1, Math.floor(steps / 10)),
    logEvery: o.logEvery ?? t.logEvery ?? DEFAULTS.logEvery,
    evalFraction,
    evalRows: o.evalRows ?? DEFAULTS.evalRows,
    recompute: o.recompute ?? t.recompute ?? 'none',
  };
}

/**
 * The settings a resumed run must share with the checkpoint to continue the same run. `steps` may
 * grow (a longer run), everything that changes the batches, the model or the update may not.
 */
export const RESUME_KEYS = ['lr', 'weightDecay', 'beta1', 'beta2', 'eps', 'schedule', 'warmup', 'minLrRatio', 'batch', 'seq', 'seed', 'maxGradNorm', 'gradAccum', 'evalFraction'] as const;

export function resumeMismatches(saved: Partial<TrainSettings>, now: TrainSettings): string[] {
  return RESUME_KEYS.filter((k) => saved[k] !== undefined && saved[k] !== now[k]).map((k) => `${k} ${String(saved[k])} -> ${String(now[k])}`);
}
