// Every field of PEFT's LoraConfig (peft/tuners/lora/config.py and PeftConfig) and what Rankfold
// does with it: used, recorded, ignored because it cannot change the math here, or refused by
// name because it changes the math in a way Rankfold does not implement (loading such an adapter
// as plain LoRA would silently give other numbers). Fields not listed (from newer PEFT versions)
// are kept and written back, as PEFT keeps forward compatibility. spec/checkpoints.md renders
// this table (a test keeps them in step). Pure: no Node APIs.

export type FieldUse =
  /** Read and honoured. */
  | 'used'
  /** Kept and written back; no effect on the numbers. */
  | 'recorded'
  /** Accepted; it cannot change the math of a plain (non-quantized, single-device) model. */
  | 'ignored'
  /** Refused when set to anything but its default. */
  | 'refused'
  /** Accepted when loading a trained adapter (same forward and merge), refused for training. */
  | 'refused for training';

export interface FieldPolicy {
  use: FieldUse;
  /** What the field means and what Rankfold does (rendered in spec/checkpoints.md). */
  what: string;
  /** The value that counts as unset, for 'refused' fields (default: null). */
  unset?: (v: unknown) => boolean;
}

const isNull = (v: unknown) => v === null || v === undefined;
const isFalse = (v: unknown) => v === false || isNull(v);
const isEmpty = (v: unknown) => isNull(v) || (typeof v === 'object' && Object.keys(v as object).length === 0);

export const PEFT_FIELDS: Record<string, FieldPolicy> = {
  peft_type: { use: 'used', what: 'must be "LORA"; any other PEFT method is refused by name' },
  task_type: { use: 'used', what: 'written as "CAUSAL_LM" for models with a language-model head, null otherwise; SEQ_CLS / TOKEN_CLS add "classifier" and "score", QUESTION_ANS adds "qa_outputs" to modules_to_save as PEFT does; an unknown value is refused (PEFT: "Invalid task type")' },
  inference_mode: { use: 'recorded', what: 'true in saved files (PEFT sets it while saving)' },
  base_model_name_or_path: { use: 'recorded', what: "the base model's `_name_or_path` from its config.json when known, else the folder of the base weights" },
  revision: { use: 'recorded', what: 'the base model revision' },
  auto_mapping: { use: 'recorded', what: 'custom model classes (not used by Rankfold)' },
  peft_version: { use: 'recorded', what: 'the PEFT layout Rankfold reproduces ("0.21.0")' },
  r: { use: 'used', what: 'rank; a positive integer' },
  lora_alpha: { use: 'used', what: 'alpha; scaling = lora_alpha / r (or / sqrt(r) with use_rslora)' },
  lora_dropout: { use: 'used', what: 'dropout on the input of each linear LoRA branch in training (PEFT never applies it to embeddings)' },
  target_modules: { use: 'used', what: 'list: a module whose name equals an entry or ends with "." + entry; string: a Python regex that must match the whole name; "all-linear" (a string, any case): every Linear/Conv1D but the output head. Containers and layers other than Linear, Conv1D and Embedding are refused as PEFT refuses them' },
  exclude_modules: { use: 'used', what: 'same forms as target_modules; wins over it' },
  fan_in_fan_out: { use: 'used', what: "the Conv1D layout; Rankfold takes each layer's layout from the spec, as PEFT corrects this flag per layer" },
  bias: { use: 'used', what: '"none"; "all" trains every bias of the model, "lora_only" the biases of LoRA-adapted layers; trained biases are saved under `<path>.bias` (`<module>.base_layer.bias` for adapted modules, PEFT main) and kept by merge' },
  use_rslora: { use: 'used', what: 'scaling = lora_alpha / sqrt(r)' },
  modules_to_save: { use: 'used', what: 'modules trained in full (PEFT suffix match, containers included), saved as `<module>.weight` / `.bias`, replacing the base on merge; they and their submodules never get LoRA' },
  init_lora_weights: { use: 'used', what: 'true, false, "gaussian", "pissa", "pissa_niter_K" (computed with an exact SVD), "olora" (PiSSA/OLoRA replace the base by the residual at training start and again on load, as PEFT does); "eva", "orthogonal", "lora_ga" load as plain LoRA but are refused for training; "loftq", "corda", "mica" are refused' },
  layers_to_transform: { use: 'used', what: 'layer indices for list targets (not exact names, not regex or all-linear: refused with a string target_modules, as PEFT refuses)' },
  layers_pattern: { use: 'used', what: 'the name of the layer list before the index (regex, no capturing groups); needs layers_to_transform' },
  rank_pattern: { use: 'used', what: 'per-module r: the first key, in file order, with re.match(r"(.*\\.)?(KEY)$") wins' },
  alpha_pattern: { use: 'used', what: 'per-module lora_alpha, as rank_pattern' },
  megatron_config: { use: 'ignored', what: 'Megatron tensor-parallel layers: the same LoRA math, sharded; refused with use_dora as PEFT refuses' },
  megatron_core: { use: 'ignored', what: 'the Megatron module path' },
  trainable_token_indices: { use: 'refused', what: 'trainable rows of the embedding (TrainableTokensWrapper)' },
  loftq_config: { use: 'ignored', what: 'settings of init_lora_weights="loftq" (refused there); PEFT ignores it for other inits', unset: isEmpty },
  eva_config: { use: 'ignored', what: 'settings of init_lora_weights="eva"; PEFT ignores it for other inits' },
  corda_config: { use: 'ignored', what: 'settings of init_lora_weights="corda" (refused there)' },
  lora_ga_config: { use: 'ignored', what: 'settings of init_lora_weights="lora_ga"' },
  use_dora: { use: 'used', what: 'DoRA: a trained magnitude per output feature (per embedding dimension on an embedding), saved as the magnitude vector' },
  velora_config: { use: 'refused for training', what: 'VeLoRA compresses activations in the backward pass of lora_A; forward and merge are plain LoRA' },
  alora_invocation_tokens: { use: 'refused', what: 'aLoRA: the adapter acts only after the invocation tokens, and cannot merge' },
  use_qalora: { use: 'refused', what: 'QA-LoRA: pooled inputs and lora_A of [r, in / group] on GPTQ layers, no merge', unset: isFalse },
  qalora_group_size: { use: 'ignored', what: 'the QA-LoRA group (use_qalora is refused)', unset: () => true },
  monteclora_config: { use: 'refused for training', what: 'MoNTeCLoRA perturbs lora_A with sampled noise in training; eval and merge are plain LoRA' },
  layer_replication: { use: 'refused', what: 'duplicated decoder layers with separate adapters' },
  runtime_config: { use: 'ignored', what: 'device hints; PEFT does not save it' },
  lora_bias: { use: 'used', what: 'a bias on lora_B: y += scaling·(B·A·x + b); merged into the base bias (refused on layers without one, as PEFT refuses the merge); not with DoRA or embeddings, as PEFT' },
  target_parameters: { use: 'refused', what: 'LoRA on raw nn.Parameters (MoE experts)' },
  use_bdlora: { use: 'refused', what: 'block-diagonal lora_A or lora_B' },
  arrow_config: { use: 'refused', what: 'Arrow routing over several task adapters' },
  kasa_config: { use: 'refused', what: 'KaSA: SVD-truncated base and a diagonal between B and A' },
  ensure_weight_tying: { use: 'used', what: 'false; true is refused when a tied pair (embedding and output head) is adapted or saved, where PEFT would share one adapter between them', unset: isFalse },
};

/** Why the value of a field cannot be honoured, or undefined. `training`: the adapter is about to be trained. */
export function fieldRefusal(field: string, value: unknown, training: boolean): string | undefined {
  const p = PEFT_FIELDS[field];
  if (!p) return undefined;
  const set = !(p.unset ?? isNull)(value);
  if (!set) return undefined;
  if (p.use === 'refused' || (p.use === 'refused for training' && training)) {
    return `"${field}" is ${JSON.stringify(value)}: ${p.what}; Rankfold does not implement it${p.use === 'refused for training' ? ' for training' : ''}, and refuses rather than use the adapter as plain LoRA`;
  }
  return undefined;
}

/** PEFT's TaskType values. */
export const TASK_TYPES = ['SEQ_CLS', 'SEQ_2_SEQ_LM', 'CAUSAL_LM', 'TOKEN_CLS', 'QUESTION_ANS', 'FEATURE_EXTRACTION'] as const;

/** The modules PEFT's PeftModelFor* classes add to modules_to_save for a task. */
export function taskModulesToSave(taskType: string | null): string[] {
  if (taskType === 'SEQ_CLS' || taskType === 'TOKEN_CLS') return ['classifier', 'score'];
  if (taskType === 'QUESTION_ANS') return ['qa_outputs'];
  return [];
}
