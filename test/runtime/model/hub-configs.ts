// config.json files of released models as the Hugging Face hub serves them (written by the
// transformers versions named in them), with their published parameter counts: inputs that show
// the shipped specs read every key of real configs. Phi-3-128k's long/short factors are
// placeholders of the right length (48 = rotary dim / 2); the other values are the files'.
const phi3Mini4k = {
  _name_or_path: 'Phi-3-mini-4k-instruct', architectures: ['Phi3ForCausalLM'], attention_bias: false, attention_dropout: 0.0,
  auto_map: { AutoConfig: 'configuration_phi3.Phi3Config', AutoModelForCausalLM: 'modeling_phi3.Phi3ForCausalLM' },
  bos_token_id: 1, embd_pdrop: 0.0, eos_token_id: 32000, hidden_act: 'silu', hidden_size: 3072, initializer_range: 0.02,
  intermediate_size: 8192, max_position_embeddings: 4096, model_type: 'phi3', num_attention_heads: 32, num_hidden_layers: 32,
  num_key_value_heads: 32, original_max_position_embeddings: 4096, pad_token_id: 32000, resid_pdrop: 0.0, rms_norm_eps: 1e-5,
  rope_scaling: null, rope_theta: 10000.0, sliding_window: 2047, tie_word_embeddings: false, torch_dtype: 'bfloat16',
  transformers_version: '4.40.2', use_cache: true, vocab_size: 32064,
};

export const HUB_CONFIGS: Record<string, { config: Record<string, unknown>; params: number }> = {
  'Llama-3.2-1B': {
    params: 1_235_814_400,
    config: {
      architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000, eos_token_id: 128001,
      head_dim: 64, hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02, intermediate_size: 8192, max_position_embeddings: 131072,
      mlp_bias: false, model_type: 'llama', num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, pretraining_tp: 1,
      rms_norm_eps: 1e-5, rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
      rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0.dev0', use_cache: true, vocab_size: 128256,
    },
  },
  'Qwen2.5-0.5B': {
    params: 494_032_768,
    config: {
      architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu',
      hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 24,
      model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 1000000.0,
      sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.40.1', use_cache: true,
      use_sliding_window: false, vocab_size: 151936,
    },
  },
  'Mistral-7B-v0.1': {
    params: 7_241_732_096,
    config: {
      architectures: ['MistralForCausalLM'], bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', hidden_size: 4096, initializer_range: 0.02,
      intermediate_size: 14336, max_position_embeddings: 32768, model_type: 'mistral', num_attention_heads: 32, num_hidden_layers: 32,
      num_key_value_heads: 8, rms_norm_eps: 1e-5, rope_theta: 10000.0, sliding_window: 4096, tie_word_embeddings: false,
      torch_dtype: 'bfloat16', transformers_version: '4.34.0.dev0', use_cache: true, vocab_size: 32000,
    },
  },
  'Mistral-7B-v0.3': {
    params: 7_248_023_552,
    config: {
      architectures: ['MistralForCausalLM'], attention_dropout: 0.0, bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', hidden_size: 4096,
      initializer_range: 0.02, intermediate_size: 14336, max_position_embeddings: 32768, model_type: 'mistral', num_attention_heads: 32,
      num_hidden_layers: 32, num_key_value_heads: 8, rms_norm_eps: 1e-5, rope_theta: 1000000.0, sliding_window: null,
      tie_word_embeddings: false, torch_dtype: 'bfloat16', transformers_version: '4.42.0.dev0', use_cache: true, vocab_size: 32768,
    },
  },
  'Phi-3-mini-4k-instruct': { params: 3_821_079_552, config: phi3Mini4k },
  'Phi-3-mini-128k-instruct': {
    params: 3_821_079_552,
    config: {
      ...phi3Mini4k, _name_or_path: 'Phi-3-mini-128k-instruct', max_position_embeddings: 131072, sliding_window: 262144,
      rope_scaling: { type: 'longrope', short_factor: Array.from({ length: 48 }, (_, i) => 1 + i / 100), long_factor: Array.from({ length: 48 }, (_, i) => 1 + i) },
    },
  },
  'gemma-2b': {
    params: 2_506_172_416,
    config: {
      architectures: ['GemmaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 2, eos_token_id: 1, head_dim: 256,
      hidden_act: 'gelu', hidden_activation: 'gelu_pytorch_tanh', hidden_size: 2048, initializer_range: 0.02, intermediate_size: 16384,
      max_position_embeddings: 8192, model_type: 'gemma', num_attention_heads: 8, num_hidden_layers: 18, num_key_value_heads: 1,
      pad_token_id: 0, rms_norm_eps: 1e-6, rope_scaling: null, rope_theta: 10000.0, torch_dtype: 'bfloat16', transformers_version: '4.38.0.dev0',
      use_cache: true, vocab_size: 256000,
    },
  },
  gpt2: {
    params: 124_439_808,
    config: {
      activation_function: 'gelu_new', architectures: ['GPT2LMHeadModel'], attn_pdrop: 0.1, bos_token_id: 50256, embd_pdrop: 0.1,
      eos_token_id: 50256, initializer_range: 0.02, layer_norm_epsilon: 1e-5, model_type: 'gpt2', n_ctx: 1024, n_embd: 768, n_head: 12,
      n_layer: 12, n_positions: 1024, resid_pdrop: 0.1, summary_activation: null, summary_first_dropout: 0.1, summary_proj_to_labels: true,
      summary_type: 'cls_index', summary_use_proj: true, task_specific_params: { 'text-generation': { do_sample: true, max_length: 50 } },
      vocab_size: 50257,
    },
  },
};
