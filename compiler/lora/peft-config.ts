// PEFT's adapter_config.json for LoRA, as PEFT 0.21 writes it: the type, the defaults, reading
// (with PEFT's own validations) and writing byte-exactly as PEFT's json.dumps does. Which modules a
// config selects is targets.ts. Pure: no Node APIs.
import { UserError } from '../errors.ts';
import { compilePyRegex, PyRegexError } from './pyregex.ts';
import { fieldRefusal, PEFT_FIELDS, TASK_TYPES } from './peft-fields.ts';
import { initFromPeft } from './lora-config.ts';

export type TargetModules = string[] | string | null;

/** The LoRA fields Rankfold reads; any other field of the file is kept as is and written back. */
export interface PeftConfig {
  peft_type: 'LORA';
  task_type: string | null;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  /** A list (exact name or '.'-suffix), a regex string (full match) or "all-linear". */
  target_modules: TargetModules;
  exclude_modules: string[] | string | null;
  fan_in_fan_out: boolean;
  bias: 'none' | 'all' | 'lora_only';
  use_rslora: boolean;
  use_dora: boolean;
  lora_bias: boolean;
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  init_lora_weights: boolean | string;
  modules_to_save: string[] | null;
  base_model_name_or_path: string | null;
  inference_mode: boolean;
  layers_to_transform: number[] | number | null;
  layers_pattern: string[] | string | null;
  [field: string]: unknown;
}

/** The version whose file layout we reproduce; written into peft_version. */
export const PEFT_FORMAT_VERSION = '0.21.0';

/**
 * Every field PEFT 0.21's LoraConfig.to_dict() writes, with LoraConfig's defaults, except that
 * task_type defaults to CAUSAL_LM (Rankfold trains causal LMs, and PEFT then loads the adapter as a
 * PeftModelForCausalLM) and inference_mode is true (save_pretrained sets it while saving).
 */
export function defaultPeftConfig(): PeftConfig {
  return {
    alora_invocation_tokens: null,
    alpha_pattern: {},
    arrow_config: null,
    auto_mapping: null,
    base_model_name_or_path: null,
    bias: 'none',
    corda_config: null,
    ensure_weight_tying: false,
    eva_config: null,
    exclude_modules: null,
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    kasa_config: null,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: 8,
    lora_bias: false,
    lora_dropout: 0.0,
    lora_ga_config: null,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    monteclora_config: null,
    peft_type: 'LORA',
    peft_version: PEFT_FORMAT_VERSION,
    qalora_group_size: 16,
    r: 8,
    rank_pattern: {},
    revision: null,
    target_modules: null,
    target_parameters: null,
    task_type: 'CAUSAL_LM',
    trainable_token_indices: null,
    use_bdlora: null,
    use_dora: false,
    use_qalora: false,
    use_rslora: false,
    velora_config: null,
  };
}

/** A full config from the fields you care about. */
export function makePeftConfig(fields: Partial<PeftConfig>): PeftConfig {
  const config = { ...defaultPeftConfig(), ...fields } as PeftConfig;
  return validatePeftConfig(config, '<config>');
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Parses adapter_config.json text; missing fields take PEFT's defaults, unknown ones are kept. */
export function parsePeftConfig(text: string, source = 'adapter_config.json'): PeftConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObj(json)) throw new UserError(`${source}: expected a JSON object`);
  if (json.peft_type !== 'LORA') {
    throw new UserError(`${source}: "peft_type" is ${JSON.stringify(json.peft_type)}; Rankfold reads LoRA adapters ("LORA") only`);
  }
  // Fields missing from older files take the defaults, except task_type: absent means none was set.
  const config = { ...defaultPeftConfig(), task_type: null, ...json } as PeftConfig;
  return validatePeftConfig(config, source);
}

function validatePeftConfig(c: PeftConfig, source: string): PeftConfig {
  const bad = (field: string, want: string): never => {
    throw new UserError(`${source}: "${field}" is ${JSON.stringify(c[field])}, expected ${want}`);
  };
  if (!Number.isInteger(c.r) || c.r <= 0) bad('r', 'a positive integer (PEFT: "`r` should be a positive integer value")');
  if (!(c.task_type === null || (TASK_TYPES as readonly unknown[]).includes(c.task_type))) bad('task_type', `null or one of ${TASK_TYPES.join(', ')} (PEFT: "Invalid task type")`);
  for (const field of Object.keys(PEFT_FIELDS)) {
    const why = fieldRefusal(field, c[field], false);
    if (why) throw new UserError(`${source}: ${why}`);
  }
  const init = initFromPeft(c.init_lora_weights, false);
  if (typeof init !== 'string') throw new UserError(`${source}: "init_lora_weights" ${init.error}`);
  if (typeof c.lora_alpha !== 'number' || !Number.isFinite(c.lora_alpha)) bad('lora_alpha', 'a number');
  if (typeof c.lora_dropout !== 'number' || c.lora_dropout < 0 || c.lora_dropout >= 1) bad('lora_dropout', 'a number in [0, 1)');
  if (!(c.target_modules === null || typeof c.target_modules === 'string' || isStrList(c.target_modules))) {
    bad('target_modules', 'a list of names, a regex string or "all-linear"');
  }
  if (!(c.exclude_modules === null || typeof c.exclude_modules === 'string' || isStrList(c.exclude_modules))) {
    bad('exclude_modules', 'a list of names or a regex string');
  }
  if (!['none', 'all', 'lora_only'].includes(c.bias)) bad('bias', '"none", "all" or "lora_only"');
  for (const f of ['fan_in_fan_out', 'use_rslora', 'use_dora', 'lora_bias', 'inference_mode'] as const) {
    if (typeof c[f] !== 'boolean') bad(f, 'true or false');
  }
  for (const f of ['rank_pattern', 'alpha_pattern'] as const) {
    const p = c[f];
    if (!isObj(p) || !Object.values(p).every((v) => typeof v === 'number' && Number.isFinite(v))) bad(f, 'an object of numbers');
    for (const key of Object.keys(p)) checkPattern(`(.*\\.)?(${key})$`, `${source}: ${f} key "${key}"`);
  }
  for (const [k, v] of Object.entries(c.rank_pattern)) {
    if (!Number.isInteger(v) || v <= 0) throw new UserError(`${source}: rank_pattern["${k}"] = ${v} is not a positive integer`);
  }
  if (!(c.modules_to_save === null || isStrList(c.modules_to_save))) bad('modules_to_save', 'a list of names or null');
  const l = c.layers_to_transform;
  if (!(l === null || Number.isInteger(l) || (Array.isArray(l) && l.every((x) => Number.isInteger(x))))) {
    bad('layers_to_transform', 'an integer, a list of integers or null');
  }
  if (!(c.layers_pattern === null || typeof c.layers_pattern === 'string' || isStrList(c.layers_pattern))) {
    bad('layers_pattern', 'a string, a list of strings or null');
  }
  // LoraConfig.__post_init__'s refusals, with PEFT's messages.
  const peftSays = (msg: string): never => {
    throw new UserError(`${source}: ${msg} (PEFT refuses this config)`);
  };
  if (typeof c.target_modules === 'string' && c.layers_to_transform !== null) peftSays('`layers_to_transform` cannot be used when `target_modules` is a str.');
  if (typeof c.target_modules === 'string' && c.layers_pattern !== null) peftSays('`layers_pattern` cannot be used when `target_modules` is a str.');
  if (c.layers_pattern !== null && c.layers_pattern.length > 0 && c.layers_to_transform === null) peftSays('When `layers_pattern` is specified, `layers_to_transform` must also be specified.');
  if (c.use_dora && c.megatron_config !== null && c.megatron_config !== undefined) peftSays('DoRA does not support megatron_core, please set `use_dora=False`.');
  if (c.lora_bias && typeof c.init_lora_weights !== 'boolean') peftSays(`The argument lora_bias=True is only supported with init_lora_weights=True or False, got init_lora_weights=${JSON.stringify(c.init_lora_weights)} instead.`);
  if (c.lora_bias && c.use_dora) peftSays('The argument lora_bias=True is not supported for DoRA, please pass use_dora=False');
  if (typeof c.target_modules === 'string' && !isAllLinear(c.target_modules)) checkPattern(c.target_modules, `${source}: target_modules`);
  if (typeof c.exclude_modules === 'string') checkPattern(c.exclude_modules, `${source}: exclude_modules`);
  for (const m of c.modules_to_save ?? []) checkPattern(`(^|.*\\.)${m}($|\\..*)`, `${source}: modules_to_save entry "${m}"`);
  for (const p of typeof c.layers_pattern === 'string' ? [c.layers_pattern] : (c.layers_pattern ?? [])) {
    const what = `${source}: layers_pattern "${p}"`;
    checkPattern(`.*?\\.${p}\\.(\\d+)\\.`, what);
    // PEFT reads the index as int(match.group(1)); a group of the pattern's own would be group 1.
    if (compilePyRegex(p).groups > 0) throw new UserError(`${what} has a capturing group, which PEFT would read as the layer index; write (?:...) instead`);
  }
  return c;
}

// Fields PEFT stores as Python floats: JSON writes them with a ".0" when whole.
const FLOAT_FIELDS = new Set(['lora_dropout']);

/** adapter_config.json text exactly as PEFT writes it: json.dumps(indent=2, sort_keys=True). */
export function serializePeftConfig(config: PeftConfig): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (isObj(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])]));
    return v;
  };
  return pythonJson(sorted(config), '', null);
}

// json.dumps(indent=2, ensure_ascii=True): "key": value, empty containers as {} and [].
function pythonJson(v: unknown, indent: string, key: string | null): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
    return key !== null && FLOAT_FIELDS.has(key) && Number.isInteger(v) ? `${v}.0` : String(v);
  }
  if (typeof v === 'string') return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => inner + pythonJson(x, inner, null)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, x]) => `${inner}${pythonJson(k, inner, null)}: ${pythonJson(x, inner, k)}`).join(',\n')}\n${indent}}`;
}

/**
 * Refuses what a config cannot be trained with here, naming the field: inits that need data or
 * quantization, and fields whose training math differs from plain LoRA (velora, monteclora).
 */
export function checkTrainable(c: PeftConfig, source: string): void {
  for (const field of Object.keys(PEFT_FIELDS)) {
    const why = fieldRefusal(field, c[field], true);
    if (why) throw new UserError(`${source}: ${why}`);
  }
  const init = initFromPeft(c.init_lora_weights, true);
  if (typeof init !== 'string') throw new UserError(`${source}: "init_lora_weights" ${init.error}`);
}

/** "all-linear" in any case: PEFT's shorthand for every Linear / Conv1D layer but the output head. */
export function isAllLinear(target: unknown): boolean {
  return typeof target === 'string' && target.toLowerCase() === 'all-linear';
}

/**
 * Compiles a Python pattern the way PEFT builds it (user text spliced into a template), so a bad
 * or unbounded pattern is refused when the config is read, naming the field.
 */
export function checkPattern(pattern: string, what: string): void {
  try {
    compilePyRegex(pattern);
  } catch (err) {
    if (err instanceof PyRegexError) throw new UserError(`${what} is not a usable regular expression: ${err.message}`);
    throw err;
  }
}
