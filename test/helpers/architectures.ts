// Tiny configs of every shipped architecture, each exercising what makes it different: llama with
// llama3 rope_scaling (transformers 4.x spelling), qwen2 with biases and a sliding window on its
// second layer only, mistral with a window shorter than the test prompts and head_dim != d/heads
// (5.x rope_parameters), phi3 with fused projections, GQA, partial rotary, longrope and a window,
// gemma with multi-query attention and both activation keys. Random weights; sizes for tests.
import type { CheckedModel } from '../../compiler/check/model.ts';
import { join } from 'node:path';
import { EXAMPLES_DIR, loadModelSpec, loadSpec } from '../../runtime/model/load-spec.ts';

export const TINY_CONFIGS: Record<string, Record<string, unknown>> = {
  llama: {
    model_type: 'llama', vocab_size: 64, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, max_position_embeddings: 64, rms_norm_eps: 1e-5, tie_word_embeddings: true, rope_theta: 500000.0,
    rope_scaling: { rope_type: 'llama3', factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 16 },
    attention_bias: false, mlp_bias: false, attention_dropout: 0.0, hidden_act: 'silu',
  },
  qwen2: {
    model_type: 'qwen2', vocab_size: 64, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, max_position_embeddings: 64, rms_norm_eps: 1e-6, tie_word_embeddings: true, rope_theta: 1000000.0,
    use_sliding_window: true, sliding_window: 3, max_window_layers: 1, hidden_act: 'silu', attention_dropout: 0.0,
  },
  mistral: {
    model_type: 'mistral', vocab_size: 64, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 1, head_dim: 12, max_position_embeddings: 64, rms_norm_eps: 1e-5, tie_word_embeddings: false,
    rope_parameters: { rope_type: 'default', rope_theta: 10000.0 }, sliding_window: 3, hidden_act: 'silu', attention_dropout: 0.0,
  },
  phi3: {
    model_type: 'phi3', vocab_size: 64, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, max_position_embeddings: 256, original_max_position_embeddings: 64, rms_norm_eps: 1e-5,
    partial_rotary_factor: 0.5, sliding_window: 5, tie_word_embeddings: false, rope_theta: 10000.0, hidden_act: 'silu',
    rope_scaling: { type: 'longrope', short_factor: [1.0, 1.5], long_factor: [2.0, 4.0] }, resid_pdrop: 0.0, embd_pdrop: 0.0, attention_dropout: 0.0,
  },
  gemma: {
    model_type: 'gemma', vocab_size: 64, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 1, head_dim: 16, max_position_embeddings: 64, rms_norm_eps: 1e-6, tie_word_embeddings: true,
    rope_theta: 10000.0, hidden_act: 'gelu', hidden_activation: 'gelu_pytorch_tanh', attention_bias: false, attention_dropout: 0.0,
  },
};

/** The checked model of each tiny config (its shipped spec and default LoRA targets), plus GPT-2's example. */
export function tinyArchitectures(): Record<string, CheckedModel> {
  const out: Record<string, CheckedModel> = {};
  for (const [name, config] of Object.entries(TINY_CONFIGS)) out[name] = loadModelSpec({ config, source: `${name} tiny config` }).model;
  out['gpt2'] = loadSpec(join(EXAMPLES_DIR, 'gpt2.rf'), { overrides: { vocab: 64, ctx: 32, d: 32, layers: 2, heads: 4 } });
  return out;
}
