// The JSON files of a Hugging Face model folder, parsed and checked (pure): config.json's fields
// that every loader needs (model_type, dtype, _name_or_path), generation_config.json's special ids,
// tokenizer_config.json's chat template and special tokens, and the shard index. The architecture
// fields (widths, rope, ...) are read by the spec side; here the config stays a plain JSON object.
import { UserError } from '../../compiler/errors.ts';
import { dtypeFromTorchName, type FloatDtype } from './dtypes.ts';

export type JsonObject = Record<string, unknown>;

export const CONFIG_NAME = 'config.json';
export const GENERATION_CONFIG_NAME = 'generation_config.json';
export const TOKENIZER_NAME = 'tokenizer.json';
export const TOKENIZER_CONFIG_NAME = 'tokenizer_config.json';
/** transformers 4.47+ keeps the chat template here (it wins over tokenizer_config.json's entry). */
export const CHAT_TEMPLATE_NAME = 'chat_template.jinja';
export const SINGLE_WEIGHTS_NAME = 'model.safetensors';
export const WEIGHTS_INDEX_NAME = 'model.safetensors.index.json';

export function parseJsonObject(text: string, source: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new UserError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UserError(`${source}: expected a JSON object`);
  return v as JsonObject;
}

/**
 * The dtype the config says the weights are in: `dtype` (transformers 4.56+ and 5.x) wins over
 * `torch_dtype` (older). undefined when absent, null or "auto"; an unknown name is an error.
 */
export function configDtype(config: JsonObject, source: string): FloatDtype | undefined {
  for (const key of ['dtype', 'torch_dtype']) {
    const v = config[key];
    if (v === undefined || v === null || v === 'auto') continue;
    const d = typeof v === 'string' ? dtypeFromTorchName(v) : undefined;
    if (!d) throw new UserError(`${source}: "${key}": ${JSON.stringify(v)} is not a dtype Rankfold reads (bfloat16, float16, float32)`);
    return d;
  }
  return undefined;
}

/** What PEFT's adapter_config.json records as base_model_name_or_path: the config's `_name_or_path`, else the folder. */
export function baseModelNameOrPath(config: JsonObject, dir: string): string {
  const n = config._name_or_path;
  return typeof n === 'string' && n.trim() !== '' ? n : dir;
}

function tokenId(v: unknown, field: string, source: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw new UserError(`${source}: "${field}" must be a non-negative integer token id, got ${JSON.stringify(v)}`);
}

/** Special token ids as generate() uses them. */
export interface SpecialIds {
  bos?: number;
  /** Generation stops at any of these (generation_config's eos_token_id is an int or a list). */
  eos: number[];
  pad?: number;
}

/** bos/eos/pad ids from generation_config.json (or config.json, which may carry the same fields). */
export function readSpecialIds(obj: JsonObject, source: string): SpecialIds {
  const rawEos = obj.eos_token_id;
  const eosList = Array.isArray(rawEos) ? rawEos : rawEos === undefined || rawEos === null ? [] : [rawEos];
  const eos = eosList.map((v, i) => tokenId(v, Array.isArray(rawEos) ? `eos_token_id[${i}]` : 'eos_token_id', source)!);
  return { bos: tokenId(obj.bos_token_id, 'bos_token_id', source), eos: [...new Set(eos)], pad: tokenId(obj.pad_token_id, 'pad_token_id', source) };
}

/** A tokenizer's files, parsed: what runtime/data/hf-tokenizer.ts builds a tokenizer from. */
export interface TokenizerFiles {
  /** The folder (or package) the files came from, for names and error messages. */
  source: string;
  tokenizerJson: JsonObject;
  tokenizerConfig: JsonObject;
  /** chat_template.jinja if present, else tokenizer_config.json's chat_template. */
  chatTemplate?: string;
  /** generation_config.json's bos/eos/pad ids, else config.json's: eos here is what generation stops at. */
  special: SpecialIds;
}

/** `model.safetensors.index.json`: which shard file holds each tensor. */
export interface ShardIndex {
  metadata: JsonObject;
  /** Tensor name -> shard file name (a plain name inside the folder). */
  weightMap: Map<string, string>;
  /** The distinct shard files, sorted. */
  files: string[];
}

/** A plain file name inside the folder: no separators, no "..", so an index cannot point elsewhere. */
export function isPlainFileName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

export function parseShardIndex(text: string, source: string): ShardIndex {
  const obj = parseJsonObject(text, source);
  const wm = obj.weight_map;
  if (wm === null || typeof wm !== 'object' || Array.isArray(wm)) throw new UserError(`${source}: "weight_map" must be an object of tensor name -> shard file`);
  const md = obj.metadata ?? {};
  if (md === null || typeof md !== 'object' || Array.isArray(md)) throw new UserError(`${source}: "metadata" must be an object`);
  const weightMap = new Map<string, string>();
  for (const [name, file] of Object.entries(wm as JsonObject)) {
    if (typeof file !== 'string' || !isPlainFileName(file)) {
      throw new UserError(`${source}: weight_map["${name}"] = ${JSON.stringify(file)} is not a file name in the model folder`);
    }
    weightMap.set(name, file);
  }
  if (weightMap.size === 0) throw new UserError(`${source}: "weight_map" lists no tensors`);
  return { metadata: md as JsonObject, weightMap, files: [...new Set(weightMap.values())].sort() };
}

/** The chat template from tokenizer_config.json: a string, or the "default" of a list of {name, template}. */
export function chatTemplateFromConfig(tokenizerConfig: JsonObject, source: string): string | undefined {
  const t = tokenizerConfig.chat_template;
  if (t === undefined || t === null) return undefined;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = new Map<string, string>();
    for (const e of t) {
      const o = e as JsonObject;
      if (typeof o?.name !== 'string' || typeof o?.template !== 'string') throw new UserError(`${source}: "chat_template" list entries must be {"name", "template"} strings`);
      named.set(o.name, o.template);
    }
    const d = named.get('default');
    if (d === undefined) throw new UserError(`${source}: "chat_template" has no "default" template (has: ${[...named.keys()].join(', ')})`);
    return d;
  }
  throw new UserError(`${source}: "chat_template" must be a string or a list of {"name", "template"}`);
}

/** A special token in tokenizer_config.json: a string, or an AddedToken object {"content": ...}. */
export function specialTokenText(tokenizerConfig: JsonObject, key: string, source: string): string | undefined {
  const v = tokenizerConfig[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof (v as JsonObject).content === 'string') return (v as JsonObject).content as string;
  throw new UserError(`${source}: "${key}" must be a token string or {"content": ...}, got ${JSON.stringify(v)}`);
}
