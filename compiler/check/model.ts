// CheckedModel: the checker's output and the contract with the rest of the compiler. Everything
// is resolved: parameters are numbers, repeats are unrolled, every tensor has a static shape
// (batch and sequence stay symbolic as 'B' and 'T'), every weight has its checkpoint name and
// storage layout, and every linear layer carries its LoRA settings or none. Lowering to the IR is
// a walk over `ops` in order. spec/language.md documents each field.

import type { BiasMode, LoraConfig } from '../lora/lora-config.ts';

export type { BiasMode, LoraConfig };

/** One of several named adapters on a module (a many-adapter model: runtime/adapters/adapter-set.ts). */
export interface NamedLora {
  name: string;
  config: LoraConfig;
}

export type Dim = number | 'B' | 'T';
export type ValueId = number;

export interface TensorValue {
  id: ValueId;
  /** [B, T] for token ids, [B, T, features] for activations. */
  shape: Dim[];
  dtype: 'i32' | 'f32';
  /** The spec variable it was bound to, with the repeat index (e.g. "q[i=3]"). */
  label: string;
}

/** How a weight is stored in the checkpoint. */
export type Layout =
  | 'linear' // [out, in] (torch.nn.Linear)
  | 'conv1d' // [in, out] (GPT-2's transformers.pytorch_utils.Conv1D)
  | 'embedding' // [num, dim]
  | 'vector'; // [n] (norm scales, biases)

export type Role = 'frozen' | 'trainable' | 'adapter';

export interface Weight {
  /** Checkpoint name: `<module>.weight`, `<module>.bias`, `<module>.lora_A.weight`, ... */
  name: string;
  module: string;
  shape: number[];
  layout: Layout;
  role: Role;
  numel: number;
  /** Set when this weight shares storage with another (a tied LM head): counted once, loaded from either name. */
  tiedTo?: string;
}

export type Activation = 'gelu' | 'gelu_tanh' | 'silu' | 'relu';

/** RoPE variants, named as transformers' `rope_type` (modeling_rope_utils.py's ROPE_INIT_FUNCTIONS). */
export const ROPE_TYPES = ['default', 'linear', 'dynamic', 'yarn', 'llama3', 'longrope'] as const;
export type RopeType = (typeof ROPE_TYPES)[number];

/**
 * A rotary embedding as transformers configures it (rope_theta plus rope_scaling / rope_parameters),
 * resolved for one attention layer. Fields a type does not use are absent. Lowering turns it into
 * inverse frequencies and an attention factor (compiler/lower/rope.ts), once per compiled length.
 */
export interface RopeConfig {
  type: RopeType;
  theta: number;
  /** Rotated features per head: int(headDim · partial_rotary_factor), even; the rest pass through. */
  dim: number;
  /** linear, dynamic, yarn, llama3 (required); longrope (else maxPositions / originalMaxPositions). */
  factor?: number;
  /** llama3. */
  lowFreqFactor?: number;
  highFreqFactor?: number;
  /** llama3, yarn, longrope: the pretraining context (default maxPositions, as transformers 5 fills it). */
  originalMaxPositions?: number;
  /** config.max_position_embeddings: dynamic's reference length, yarn's and longrope's factor fallback. */
  maxPositions?: number;
  /** yarn. */
  betaFast?: number;
  betaSlow?: number;
  mscale?: number;
  mscaleAllDim?: number;
  /** yarn: floor/ceil the correction range (transformers' default true). */
  truncate?: boolean;
  /** yarn, longrope: multiplies cos and sin (absent: the type's formula). */
  attentionFactor?: number;
  /** longrope: per-frequency divisors (rotary dim / 2 each), short up to originalMaxPositions. */
  shortFactor?: number[];
  longFactor?: number[];
}

/**
 * Every op may carry `block`: the iteration of the spec's outermost `repeat` that made it (0, 1, ...
 * across the whole body, so a second top-level repeat continues the count). Ops outside any repeat
 * (embeddings, the final norm, the head) have none. Block recompute (compiler/passes/recompute.ts)
 * keeps only each block's input alive for the backward and recomputes the rest.
 */
export type Op = OpKind & { block?: number };

type OpKind =
  | {
      op: 'embedding' | 'position_embedding';
      out: ValueId;
      ids: ValueId;
      module: string;
      weight: string;
      num: number;
      dim: number;
      /** LoRA on the embedding (lora_embedding_A [r, num], lora_embedding_B [dim, r]). */
      lora?: LoraConfig;
      adapters?: NamedLora[];
    }
  | {
      op: 'linear';
      out: ValueId;
      x: ValueId;
      module: string;
      weight: string;
      bias?: string;
      inFeatures: number;
      outFeatures: number;
      layout: 'linear' | 'conv1d';
      lora?: LoraConfig;
      /** Several named adapters, each gated (a many-adapter model); never together with `lora`. */
      adapters?: NamedLora[];
      /** The output head (its result is a model output); `all-linear` skips it, as PEFT does. */
      head: boolean;
    }
  /** x / rms(x) · (offset + weight): offset 0 (Llama), 1 (Gemma, whose checkpoints store weight − 1). */
  | { op: 'rmsnorm'; out: ValueId; x: ValueId; module: string; weight: string; eps: number; offset: number }
  | { op: 'layernorm'; out: ValueId; x: ValueId; module: string; weight: string; bias?: string; eps: number }
  | {
      op: 'attention';
      out: ValueId;
      q: ValueId;
      k: ValueId;
      v: ValueId;
      heads: number;
      kvHeads: number;
      headDim: number;
      /** The rotary embedding, or null for none (learned or no positions). */
      rope: RopeConfig | null;
      causal: boolean;
      /** Sliding window: query i sees keys i − window < j ≤ i; null for none. */
      window: number | null;
    }
  | { op: 'activation'; out: ValueId; x: ValueId; fn: Activation }
  | { op: 'add' | 'mul'; out: ValueId; a: ValueId; b: ValueId }
  /** x · c, a number (Gemma's embedding times sqrt(hidden_size)); lowering rounds c to f32. */
  | { op: 'scale'; out: ValueId; x: ValueId; c: number }
  /** Features [start, end) of the last dimension (GPT-2's fused c_attn output split into q, k, v). */
  | { op: 'slice'; out: ValueId; x: ValueId; start: number; end: number };

export interface LoraTarget {
  module: string;
  /** 'embedding': inFeatures is the number of rows (vocabulary), outFeatures the embedding size. */
  kind: 'linear' | 'embedding';
  inFeatures: number;
  outFeatures: number;
  config: LoraConfig;
  /** The adapter's name in a many-adapter model; absent for the one (PEFT "default") adapter. */
  adapter?: string;
}

/** PEFT settings that are not per module. */
export interface AdapterOptions {
  /** Which base biases train with the adapters (PEFT's `bias`). */
  bias: BiasMode;
  /** PEFT's modules_to_save entries (as written); the trained leaves have role 'trainable'. */
  modulesToSave: string[];
}

export interface OptimizerConfig {
  name: 'adamw' | 'adam' | 'sgd';
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  momentum: number;
}

export interface ScheduleConfig {
  name: 'constant' | 'cosine' | 'linear';
  warmup: number;
  minLr: number;
}

/** The `train` block; unset keys are absent so that command-line flags and runtime defaults can fill them. */
export interface TrainConfig {
  optimizer?: OptimizerConfig;
  schedule?: ScheduleConfig;
  batch?: number;
  seq?: number;
  steps?: number;
  data?: string;
  seed?: number;
  gradAccum?: number;
  maxGradNorm?: number;
  logEvery?: number;
  saveEvery?: number;
  evalEvery?: number;
  out?: string;
  /** Block recompute (gradient checkpointing): 'blocks' or 'none'. */
  recompute?: 'none' | 'blocks';
}

export interface ParamCounts {
  /** Base weights, tied pairs counted once: equals the checkpoint's tensor sizes summed. */
  base: number;
  adapter: number;
  /** base + adapter. */
  total: number;
  /** Adapters plus base weights not frozen. */
  trainable: number;
  frozen: number;
}

export interface CheckedModel {
  name: string;
  file: string;
  /** Every model parameter's bound value, in declaration order. */
  params: Record<string, number | boolean | string>;
  inputs: { name: string; value: ValueId; kind: 'tokens' | 'features' }[];
  outputs: { name: string; value: ValueId }[];
  /** Indexed by ValueId. */
  values: TensorValue[];
  /** In dataflow order: every op's inputs are defined by earlier ops or are model inputs. */
  ops: Op[];
  /** Base weights in order of first use, then adapter weights (role 'adapter'). */
  weights: Weight[];
  lora: LoraTarget[];
  /** Present when the model has adapters: the settings that are not per module. */
  adapterOptions?: AdapterOptions;
  counts: ParamCounts;
  train?: TrainConfig;
  /**
   * With a config: its keys the spec neither binds, refuses nor ignores (dotted paths inside objects
   * the spec reads from), sorted. The spec does not know whether they change the math.
   */
  unreadConfigKeys?: string[];
}
