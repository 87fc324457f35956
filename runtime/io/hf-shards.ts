// How transformers' save_pretrained lays weights out (pure): the shard plan of huggingface_hub's
// split_torch_state_dict_into_shards, the shard names, the index file, tied weights, and the dtype
// fields of config.json. The Node writer is model-folder-write.ts.
import { UserError } from '../../compiler/errors.ts';
import { torchNameOf, type FloatDtype } from './dtypes.ts';
import { SINGLE_WEIGHTS_NAME, type JsonObject } from './hf-config.ts';

/** transformers 4.x's default max_shard_size ("5GB"; 5.x raised it to 50GB). */
export const DEFAULT_MAX_SHARD_SIZE = 5_000_000_000;

const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40 };

/** A size in bytes from a number or a string such as "5GB" (decimal, as the hub parses it) or "2GiB". */
export function parseSize(v: number | string, what = 'max shard size'): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
    const unit = m ? SIZE_UNITS[(m[2] || 'B').toUpperCase()] : undefined;
    if (!m || unit === undefined) throw new UserError(`${what} ${JSON.stringify(v)}: expected bytes or a size such as "5GB", "500MB", "2GiB"`);
    n = Math.floor(Number(m[1]) * unit);
  }
  if (!Number.isSafeInteger(n) || n < 1) throw new UserError(`${what} ${JSON.stringify(v)} must be a positive number of bytes`);
  return n;
}

/** `model-00001-of-00003.safetensors`, as save_pretrained names shards ("-{i:05d}-of-{n:05d}"). */
export function shardFileName(i: number, n: number): string {
  const p = (x: number) => String(x).padStart(5, '0');
  return `model-${p(i + 1)}-of-${p(n)}.safetensors`;
}

export const SHARD_FILE_PATTERN = /^model-\d{5}-of-\d{5}\.safetensors$/;

/**
 * Greedy packing in the given order, exactly as huggingface_hub does it: a tensor larger than the
 * maximum gets a shard of its own (placed before the shard being filled), and a new shard starts when
 * adding a tensor would pass the maximum. One shard is `model.safetensors`; more are numbered.
 */
export function planShards(entries: readonly { name: string; bytes: number }[], maxBytes: number): { file: string; names: string[] }[] {
  const shards: string[][] = [];
  let current: string[] = [];
  let currentBytes = 0;
  for (const e of entries) {
    if (e.bytes > maxBytes) {
      shards.push([e.name]);
      continue;
    }
    if (currentBytes + e.bytes > maxBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(e.name);
    currentBytes += e.bytes;
  }
  if (current.length > 0) shards.push(current);
  if (shards.length === 0) throw new UserError('no tensors to write');
  if (shards.length === 1) return [{ file: SINGLE_WEIGHTS_NAME, names: shards[0]! }];
  return shards.map((names, i) => ({ file: shardFileName(i, shards.length), names }));
}

/** Recursively sorted keys, as Python's json.dumps(sort_keys=True) writes them. */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const o = v as JsonObject;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sortKeys(o[k])]));
  }
  return v;
}

/** model.safetensors.index.json text: json.dumps(index, indent=2, sort_keys=True) + "\n". */
export function shardIndexJson(weightMap: ReadonlyMap<string, string>, totalSize: number, totalParameters: number): string {
  const index = { metadata: { total_parameters: totalParameters, total_size: totalSize }, weight_map: Object.fromEntries(weightMap) };
  return JSON.stringify(sortKeys(index), null, 2) + '\n';
}

/** Models whose config class ties the output head to the input embedding unless the config says otherwise. */
const TIED_BY_DEFAULT = new Set(['gpt2', 'gemma', 'gemma2', 'gemma3_text']);
const INPUT_EMBEDDINGS = ['model.embed_tokens.weight', 'transformer.wte.weight'];
const OUTPUT_HEAD = 'lm_head.weight';

/**
 * The tensors save_pretrained leaves out because they alias another one: with tied word embeddings
 * (config `tie_word_embeddings`, else the model type's default), `lm_head.weight` is dropped and the
 * input embedding kept; transformers re-ties it on load.
 */
export function tiedWeightsToOmit(config: JsonObject, names: readonly string[]): string[] {
  const flag = config.tie_word_embeddings;
  const tied = typeof flag === 'boolean' ? flag : TIED_BY_DEFAULT.has(String(config.model_type));
  if (!tied || !names.includes(OUTPUT_HEAD) || !INPUT_EMBEDDINGS.some((n) => names.includes(n))) return [];
  return [OUTPUT_HEAD];
}

const DTYPE_KEYS = ['dtype', 'torch_dtype'] as const;

/**
 * config.json text declaring `dtype`: both `dtype` (transformers 4.56+, 5.x) and `torch_dtype`
 * (older) are set, so every version reads it. Everything else keeps the original text (Python
 * floats such as `1000000.0` stay floats): values are replaced in place, missing keys inserted.
 */
export function configWithDtype(text: string, dtype: FloatDtype, source: string): string {
  const name = torchNameOf(dtype);
  let parsed: JsonObject;
  try {
    parsed = JSON.parse(text) as JsonObject;
  } catch (err) {
    throw new UserError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  let out = text.replace(/("(?:torch_)?dtype"\s*:\s*)(?:"[^"\\]*"|null)/g, `$1"${name}"`);
  const missing = DTYPE_KEYS.filter((k) => !(k in parsed));
  if (missing.length > 0) out = out.replace('{', `{${missing.map((k) => `\n  "${k}": "${name}",`).join('')}`);
  try {
    const check = JSON.parse(out) as JsonObject;
    if (DTYPE_KEYS.every((k) => check[k] === name) && Object.keys(check).length === Object.keys(parsed).length + missing.length) return out;
  } catch {
    // fall through: an unusual layout; write the object out instead
  }
  return JSON.stringify(sortKeys({ ...parsed, dtype: name, torch_dtype: name }), null, 2) + '\n';
}
