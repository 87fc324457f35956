// What `rankfold experiments` runs: the model, the budgets and the adapter configurations of each
// paper claim, for --quick and for the full run. Everything the report states about its settings
// comes from here, so the report and the run cannot drift apart.
import { join } from 'node:path';
import { EXAMPLES_DIR } from '../../runtime/model/load-spec.ts';

/** The paper's names for the attention projections, and char-gpt.rf's module suffixes for them. */
export const PROJECTIONS = { Wq: 'q_proj', Wk: 'k_proj', Wv: 'v_proj', Wo: 'out_proj' } as const;
export type Projection = keyof typeof PROJECTIONS;

export interface AdapterConfig {
  /** Stable key in results.json, e.g. "WqWv-r8", or "WqWv-r8@1500" with its own step budget. */
  id: string;
  targets: Projection[];
  r: number;
  /** Training steps when not the run's adapt.steps (item 4's longer budget). */
  steps?: number;
}

export function adapterConfig(targets: Projection[], r: number, steps?: number): AdapterConfig {
  return { id: `${targets.join('')}-r${r}${steps ? `@${steps}` : ''}`, targets, r, ...(steps ? { steps } : {}) };
}

/** "Wq+Wv r=8" as the paper's tables write it, with the step budget when it is its own. */
export function configLabel(c: AdapterConfig): string {
  return `${c.targets.join('+')} r=${c.r}${c.steps ? ` (${c.steps} steps)` : ''}`;
}

/** Rows of item 4's table: the projections, and the step budget when a configuration has its own. */
export function rankGroup(c: AdapterConfig): string {
  return `${c.targets.join('+')}${c.steps ? `, ${c.steps} steps` : ''}`;
}

export interface ModelSettings {
  spec: string;
  /** Spec parameters bound through loadSpec's overrides (ctx must cover the longest task example). */
  overrides: { ctx: number; d: number; layers: number; heads: number };
}

export interface PretrainSettings {
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  corpusChars: number;
  seed: number;
}

export interface AdaptSettings {
  steps: number;
  batch: number;
  /** LoRA learning rate; full fine-tuning uses fullLr (it updates far more weights). */
  lr: number;
  fullLr: number;
  warmup: number;
  /** lora_alpha, fixed across ranks as in the paper (so the scaling alpha/r shrinks as r grows). */
  alpha: number;
  trainExamples: number;
  evalExamples: number;
}

export interface ExperimentSettings {
  mode: 'quick' | 'full';
  seeds: number[];
  model: ModelSettings;
  /** Training sequence length (= ctx). */
  seq: number;
  pretrain: PretrainSettings;
  adapt: AdaptSettings;
  /** Tasks of items 4-6 (the names of runtime/data/tasks). */
  tasks: string[];
  /**
   * Item 4 (paper Table 6). Configurations with their own `steps` form a second, longer budget
   * (the paper trains to convergence; at this scale small ranks need more steps to get there),
   * and the verdict is taken on them when there are any.
   */
  rankConfigs: AdapterConfig[];
  /** Item 5 (paper Table 5): one parameter budget, spread over different projections. */
  budgetConfigs: AdapterConfig[];
  /** Train full fine-tuning on each task too, as the reference row. */
  fullFinetuneBaseline: boolean;
  /** Items 3 and 7: untimed warm-up runs and timed repetitions (medians are reported). */
  timing: { warmup: number; reps: number };
  /** Item 7's forward passes are short, so they get more repetitions (their noise is larger). */
  forwardReps: number;
}

export const ALL_RANKS = [1, 2, 4, 8, 64];

/** Item 4's longer budget: three times the full run's steps, for the smallest and largest rank. */
export const LONG_STEPS = 1500;

const RANK_CONFIGS: AdapterConfig[] = [
  ...ALL_RANKS.map((r) => adapterConfig(['Wq', 'Wv'], r)),
  ...ALL_RANKS.map((r) => adapterConfig(['Wq'], r)),
  ...[1, 64].map((r) => adapterConfig(['Wq', 'Wv'], r, LONG_STEPS)),
];

const BUDGET_CONFIGS: AdapterConfig[] = [
  adapterConfig(['Wq'], 8),
  adapterConfig(['Wk'], 8),
  adapterConfig(['Wv'], 8),
  adapterConfig(['Wo'], 8),
  adapterConfig(['Wq', 'Wk'], 4),
  adapterConfig(['Wq', 'Wv'], 4),
  adapterConfig(['Wq', 'Wk', 'Wv', 'Wo'], 2),
];

// The longest generated example is 94 bytes, and rank classification appends every label to every
// prompt: the longest NLI prompt (83 bytes) + "contradiction\n" is 97. ctx 104 holds them whole
// (taskData checks it).
const MODEL: ModelSettings = {
  spec: join(EXAMPLES_DIR, 'char-gpt.rf'),
  overrides: { ctx: 104, d: 64, layers: 2, heads: 4 },
};

export function fullSettings(): ExperimentSettings {
  return {
    mode: 'full',
    seeds: [0, 1, 2],
    model: MODEL,
    seq: 104,
    pretrain: { steps: 3000, batch: 16, lr: 3e-3, warmup: 100, corpusChars: 400_000, seed: 1234 },
    adapt: { steps: 500, batch: 8, lr: 2e-2, fullLr: 1e-3, warmup: 20, alpha: 8, trainExamples: 4000, evalExamples: 300 },
    tasks: ['nli', 'wikisql'],
    rankConfigs: RANK_CONFIGS,
    budgetConfigs: BUDGET_CONFIGS,
    fullFinetuneBaseline: true,
    timing: { warmup: 3, reps: 15 },
    forwardReps: 60,
  };
}

/**
 * --quick: one seed, one task, fewer steps and a subset of the configurations that still answers
 * every question once (the smallest and largest rank, r=8 and r=64 for the subspace analysis, one
 * projection at r=8 against two at r=4, the same budget). The report lists what was left out.
 * 300 evaluation examples keep one run's binomial noise near ±0.03.
 */
export function quickSettings(): ExperimentSettings {
  const full = fullSettings();
  const pick = (ids: string[], from: AdapterConfig[]) => from.filter((c) => ids.includes(c.id));
  return {
    ...full,
    mode: 'quick',
    seeds: [0],
    pretrain: { ...full.pretrain, steps: 250, warmup: 50, corpusChars: 200_000 },
    adapt: { ...full.adapt, steps: 300, trainExamples: 2400, evalExamples: 300 },
    tasks: ['nli'],
    rankConfigs: pick(['WqWv-r1', 'WqWv-r4', 'WqWv-r8', 'WqWv-r64', 'Wq-r8'], RANK_CONFIGS),
    budgetConfigs: pick(['Wq-r8', 'WqWv-r4'], BUDGET_CONFIGS),
    fullFinetuneBaseline: false,
    timing: { warmup: 2, reps: 10 },
    forwardReps: 30,
  };
}

/** Every configuration to train once per task and seed (items 4 and 5 share some). */
export function uniqueConfigs(s: ExperimentSettings): AdapterConfig[] {
  const seen = new Map<string, AdapterConfig>();
  for (const c of [...s.rankConfigs, ...s.budgetConfigs]) if (!seen.has(c.id)) seen.set(c.id, c);
  return [...seen.values()];
}

/** Configurations of the full run that this run leaves out (for the report). */
export function omittedConfigs(s: ExperimentSettings): AdapterConfig[] {
  const have = new Set(uniqueConfigs(s).map((c) => c.id));
  return uniqueConfigs(fullSettings()).filter((c) => !have.has(c.id));
}
