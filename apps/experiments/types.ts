// The raw numbers of one `rankfold experiments` run: written as results.json next to report.md,
// and the only input of the report writer (so a report can be regenerated from the JSON alone).
import type { ByteCategory } from '../../runtime/device/program.ts';
import type { ScaleResult } from './scale.ts';
import type { AdapterConfig, ExperimentSettings } from './settings.ts';

export interface LossPoint {
  step: number;
  loss: number;
}

export interface MemoryMeasure {
  peakBytes: number;
  bytes: Partial<Record<ByteCategory, number>>;
  dispatches: number;
  trainableParams: number;
}

export interface EfficiencyResult {
  /** The configuration measured (LoRA side). */
  config: AdapterConfig;
  batch: number;
  seq: number;
  full: MemoryMeasure;
  lora: MemoryMeasure;
  /** Saved files: the whole model as safetensors vs the PEFT adapter directory. */
  checkpoint: { fullModelBytes: number; adapterWeightsBytes: number; adapterConfigBytes: number };
  /** Per-step wall times (ms, each synchronized), full and LoRA interleaved step by step. */
  stepMs: { full: number[]; lora: number[] };
}

export interface AdaptRun {
  task: string;
  /** An AdapterConfig id, or "full" for the full fine-tuning reference. */
  config: string;
  seed: number;
  trainableParams: number;
  /** Training steps (settings.adapt.steps unless the configuration has its own). */
  steps?: number;
  /** The task's score: of the most likely label (scoredBy 'likelihood') or of the generated answer. */
  accuracy: number;
  scoredBy: 'likelihood' | 'generation';
  /** The greedy generations' score (equal to accuracy when scoredBy is 'generation'). */
  generatedAccuracy: number;
  /** The task's looser score (Task.partial: wikisql's query shape), when it has one. */
  partialAccuracy?: number;
  correct: number;
  total: number;
  perLabel?: Record<string, { correct: number; total: number }>;
  finalLoss: number;
  history: LossPoint[];
  trainMs: number;
  evalMs: number;
  samples: { prompt: string; expected: string; generated: string }[];
}

export interface SubspaceResult {
  task: string;
  seed: number;
  /** Module name -> the [r1, r2] grid of φ(i, j), row-major. */
  grids: { module: string; r1: number; r2: number; cols: number; values: number[]; singular1: number[]; singular2: number[] }[];
}

export interface InferenceResult {
  task: string;
  config: string;
  batch: number;
  seq: number;
  /** Max |logits(merged, plain graph) - logits(adapter graph)| over one batch. */
  maxAbsLogitDiff: number;
  maxAbsLogit: number;
  /** Greedy generations of the eval prompts: identical strings out of total. */
  sameGenerations: number;
  generations: number;
  /** Forward-pass wall times (ms), the three executors interleaved. */
  forwardMs: { base: number[]; merged: number[]; unmerged: number[] };
  dispatches: { plain: number; adapter: number };
  /** Wall time of generating every eval prompt's answer (batched greedy decoding). */
  generateMs: { merged: number; unmerged: number };
}

export interface ExperimentResults {
  version: 2;
  settings: ExperimentSettings;
  device: string;
  startedAt: string;
  totalWallMs: number;
  model: { name: string; params: Record<string, number | boolean | string>; baseParams: number; adapterParams: Record<string, number> };
  scale: ScaleResult;
  base: { history: LossPoint[]; wallMs: number; cached: boolean; corpusChars: number; zeroShot: Record<string, number> };
  efficiency?: EfficiencyResult;
  adaptation: AdaptRun[];
  /** Adaptation runs an earlier, interrupted invocation had finished and this one reused (DIR/runs/). */
  reusedRuns?: number;
  subspace: SubspaceResult[];
  inference?: InferenceResult;
  /** Per task: evaluation prompts are held out from training; candidates is how many were drawn to find them. */
  dataSplit: Record<string, { eval: number; train: number; evalCandidates: number }>;
}
