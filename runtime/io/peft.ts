// PEFT LoRA adapters: adapter_config.json + adapter_model.safetensors, laid out as PEFT 0.21's
// save_pretrained writes them, with the key names of compiler/lora/keys.ts (the "base_model.model."
// prefix, no adapter name). LoRA factors, lora_B biases and DoRA magnitudes are grouped by module;
// anything else (biases with bias="all"/"lora_only", modules_to_save copies) is kept in `others`.
// Pure: works on bytes and strings; runtime/io/node-fs.ts reads and writes directories.
import { UserError } from '../../compiler/errors.ts';
import { parseSafetensors, serializeSafetensors, type TensorInput } from './safetensors.ts';
import { loraKey, parseLoraKey, parsePeftConfig, resolveRankAlpha, serializePeftConfig, type LoraPart, type PeftConfig } from '../../compiler/lora/index.ts';

export * from '../../compiler/lora/index.ts';

export const ADAPTER_CONFIG_NAME = 'adapter_config.json';
export const ADAPTER_WEIGHTS_NAME = 'adapter_model.safetensors';

export interface FloatTensor {
  shape: number[];
  data: Float32Array;
}

export interface LoraModuleWeights {
  /** lora_A: [r, in_features] (for an embedding: [r, num_embeddings]). */
  A: FloatTensor;
  /** lora_B: [out_features, r] (for an embedding: [embedding_dim, r]). */
  B: FloatTensor;
  /** DoRA's per-output-feature magnitude, [out_features]. */
  magnitude?: FloatTensor;
  /** lora_B's bias when lora_bias is set, [out_features]. */
  biasB?: FloatTensor;
  /** 'embedding' when stored as lora_embedding_A/B. */
  kind: 'linear' | 'embedding';
}

export interface Adapter {
  config: PeftConfig;
  /** Keyed by the module's name in the base model, e.g. "model.layers.0.self_attn.q_proj". */
  tensors: Map<string, LoraModuleWeights>;
  /** Saved tensors that are not LoRA factors, by their full key. */
  others: Map<string, FloatTensor>;
}

export interface AdapterFiles {
  /** adapter_config.json text. */
  config: string;
  /** adapter_model.safetensors bytes. */
  weights: Uint8Array;
}

type Part = LoraPart;

/** Parses and checks an adapter: both factors present, shapes agree with each other and with the config's rank. */
export function readAdapter(files: AdapterFiles, source = 'adapter'): Adapter {
  const config = parsePeftConfig(files.config, `${source}/${ADAPTER_CONFIG_NAME}`);
  const wsource = `${source}/${ADAPTER_WEIGHTS_NAME}`;
  const st = parseSafetensors(files.weights, wsource);
  const parts = new Map<string, Partial<Record<Part, FloatTensor>>>();
  const others = new Map<string, FloatTensor>();
  for (const key of st.names) {
    const t = st.get(key);
    if (!(t.data instanceof Float32Array)) throw new UserError(`${wsource}: tensor "${key}" is ${t.dtype}; adapter tensors must be floats`);
    const tensor: FloatTensor = { shape: t.shape, data: t.data };
    const parsed = parseLoraKey(key);
    if (!parsed) {
      others.set(key, tensor);
      continue;
    }
    const entry = parts.get(parsed.module) ?? {};
    entry[parsed.part] = tensor;
    parts.set(parsed.module, entry);
  }

  const tensors = new Map<string, LoraModuleWeights>();
  for (const [module, p] of parts) {
    const embedding = p.embA !== undefined || p.embB !== undefined;
    const A = embedding ? p.embA : p.A;
    const B = embedding ? p.embB : p.B;
    const where = `${wsource}: module "${module}"`;
    if (!A || !B) throw new UserError(`${where} has ${A ? 'lora_A' : 'lora_B'} but no ${A ? 'lora_B' : 'lora_A'}`);
    if (A.shape.length !== 2 || B.shape.length !== 2) {
      throw new UserError(`${where}: lora_A ${JSON.stringify(A.shape)} and lora_B ${JSON.stringify(B.shape)} must both be matrices`);
    }
    const r = A.shape[0]!;
    if (B.shape[1] !== r) throw new UserError(`${where}: lora_A is [${A.shape}] (rank ${r}) but lora_B is [${B.shape}], expected [out, ${r}]`);
    const want = resolveRankAlpha(module, config).r;
    if (r !== want) throw new UserError(`${where}: rank ${r} in the weights but the config gives rank ${want} (r / rank_pattern)`);
    const out = B.shape[0]!;
    const w: LoraModuleWeights = { A, B, kind: embedding ? 'embedding' : 'linear' };
    if (embedding && (p.A || p.B)) throw new UserError(`${where} has both lora_A/B and lora_embedding_A/B`);
    if (p.magnitude) {
      if (!config.use_dora) throw new UserError(`${where} has a DoRA magnitude but the config has use_dora=false`);
      if (p.magnitude.data.length !== out) throw new UserError(`${where}: DoRA magnitude has ${p.magnitude.data.length} elements, expected ${out}`);
      w.magnitude = p.magnitude;
    } else if (config.use_dora) {
      throw new UserError(`${where}: config has use_dora=true but there is no DoRA magnitude (${loraKey(module, 'magnitude')})`);
    }
    if (p.biasB) {
      if (embedding || !config.lora_bias) throw new UserError(`${where} has a lora_B bias but ${embedding ? 'PEFT has no lora_bias on embeddings' : 'the config has lora_bias=false'}`);
      if (p.biasB.data.length !== out) throw new UserError(`${where}: lora_B bias has ${p.biasB.data.length} elements, expected ${out}`);
      w.biasB = p.biasB;
    } else if (config.lora_bias && !embedding) {
      throw new UserError(`${where}: config has lora_bias=true but there is no ${loraKey(module, 'biasB')}`);
    }
    tensors.set(module, w);
  }
  return { config, tensors, others };
}

/** Serializes an adapter to the two files PEFT writes (safetensors metadata {"format": "pt"}, as PEFT's). */
export function writeAdapter(adapter: Adapter): AdapterFiles {
  const { config, tensors, others } = adapter;
  const out = new Map<string, TensorInput>();
  for (const [module, w] of tensors) {
    const where = `adapter module "${module}"`;
    const r = resolveRankAlpha(module, config).r;
    if (w.A.shape[0] !== r || w.B.shape[1] !== r) {
      throw new UserError(`${where}: lora_A [${w.A.shape}] / lora_B [${w.B.shape}] do not have the config's rank ${r}`);
    }
    if (config.use_dora && !w.magnitude) throw new UserError(`${where}: use_dora=true needs a magnitude vector`);
    if (config.lora_bias && w.kind === 'linear' && !w.biasB) throw new UserError(`${where}: lora_bias=true needs lora_B's bias`);
    if (!config.use_dora && w.magnitude) throw new UserError(`${where} has a DoRA magnitude but the config has use_dora=false`);
    const emb = w.kind === 'embedding';
    out.set(loraKey(module, emb ? 'embA' : 'A'), w.A);
    out.set(loraKey(module, emb ? 'embB' : 'B'), w.B);
    if (w.magnitude) out.set(loraKey(module, 'magnitude'), w.magnitude);
    if (w.biasB) out.set(loraKey(module, 'biasB'), w.biasB);
  }
  for (const [key, t] of others) {
    if (out.has(key)) throw new UserError(`adapter tensor "${key}" is given twice`);
    out.set(key, t);
  }
  return { config: serializePeftConfig(config), weights: serializeSafetensors(out, { format: 'pt' }) };
}
