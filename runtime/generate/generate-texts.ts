// Generating from files (`rankfold generate`, and scripts): a Hugging Face model folder (or a spec and
// base weights) and any number of PEFT adapter folders in, one completion per adapter out, streamed
// as it is generated. The adapters may differ in ranks and target modules: they sit over the one
// loaded base in an AdapterSet, one graph holds them all, and switching uploads only their 0/1 gates
// (and any modules_to_save copies).
import * as path from 'node:path';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { UserError } from '../../compiler/errors.ts';
import type { GpuContext } from '../device/device.ts';
import type { BackendName } from '../exec/executor.ts';
import type { ChatMessage } from '../data/chat-template.ts';
import { StreamDecoder } from '../data/detokenize.ts';
import { checkTokenizerFits, tokenizerFor } from '../data/job-data.ts';
import { stopIdsOf, type Tokenizer } from '../data/tokenizer.ts';
import type { ModelFolder } from '../io/model-folder.ts';
import { readAdapterDir, readSafetensorsFile } from '../io/node-fs.ts';
import { AdapterSet } from '../adapters/adapter-set.ts';
import { loadFolderSpec, readFolderWeights, withModelFolder } from '../model/folder-model.ts';
import { loadSpec } from '../model/load-spec.ts';
import { readBaseWeights, type WeightMap } from '../model/weights.ts';
import { maxPositions } from '../train/settings.ts';
import { Generator, type GeneratorOptions } from './generator.ts';
import type { Executor } from '../exec/executor.ts';
import type { Adapter } from '../io/peft.ts';
import { applyPeftConfig } from '../adapters/apply-peft.ts';
import { mergeTouches, stripAdapters } from '../adapters/merge-model.ts';
import { baseParamDtypes, uploadBaseWeights } from '../model/upload.ts';
import { checkSamplingOptions, type SamplingOptions } from './sampling.ts';

export interface GenerateTextsOptions extends SamplingOptions {
  /** The model spec (.rf); with `model`, it overrides the shipped spec of the folder's model_type. */
  spec?: string;
  /** A Hugging Face model folder: spec by model_type, base weights, tokenizer, chat template, eos ids. */
  model?: string;
  /** A Hugging Face config.json's contents, bound through the spec's `config` block (not with `model`). */
  config?: Record<string, unknown>;
  /** Spec parameter overrides (like `rankfold generate --set`). */
  set?: Record<string, number | boolean | string>;
  /** Base (or merged) weights: a Hugging Face safetensors file (without `model`). */
  weights?: string;
  /** PEFT adapter folders, each generating in turn over the one loaded base; none: the base alone. */
  adapters?: string[];
  /** A plain prompt (the tokenizer's BOS, if it has one, goes before it, as transformers' tokenizer(prompt) does). */
  prompt?: string;
  /** A conversation, rendered with the model's chat template and its generation prompt (instead of `prompt`). */
  messages?: ChatMessage[];
  /** Extra chat template variables (date_string, enable_thinking, tools, ...). */
  chatVars?: Record<string, unknown>;
  maxNewTokens: number;
  /** Sampling seed (default 0). */
  seed?: number;
  /** `bytes`, `gpt2` or a folder with tokenizer.json (default: the model folder's, else by vocabulary). */
  tokenizer?: string;
  backend: BackendName;
  gpu?: GpuContext;
  /**
   * Streaming: called with each piece of text as soon as it is final (whole characters only), for the
   * completion of adapter number `index` (0 for the base alone). The pieces join to `text`.
   */
  onText?: (text: string, index: number) => void;
}

export interface GeneratedText {
  /** The adapter folder that generated it; absent for the base alone. */
  adapter?: string;
  /** The completion after the prompt, decoded, without the stop token that ended it. */
  text: string;
  /** The generated ids, the stop token included when one ended the completion. */
  ids: number[];
  /** Why it ended: a stop id (eos) or the token limit. */
  finish: 'stop' | 'length';
}

/** Distinct adapter names from their folders' names (PEFT adapter names: letters, digits, '_', '-'). */
function adapterNames(dirs: string[]): string[] {
  const names: string[] = [];
  for (const d of dirs) {
    const stem = path.basename(path.resolve(d)).replace(/[^A-Za-z0-9_-]/g, '_') || 'adapter';
    let name = stem;
    for (let i = 2; names.includes(name); i++) name = `${stem}_${i}`;
    names.push(name);
  }
  return names;
}

/** The prompt's token ids: the chat template's rendering with the generation prompt, or BOS + the text. */
export function promptIds(tok: Tokenizer, o: { prompt?: string; messages?: ChatMessage[]; chatVars?: Record<string, unknown> }): number[] {
  if (o.messages !== undefined) {
    if (o.prompt !== undefined) throw new UserError('give a prompt or chat messages, not both');
    if (!tok.chatTemplate) throw new UserError(`tokenizer ${tok.name} has no chat template (tokenizer_config.json "chat_template" or chat_template.jinja), so chat messages cannot be rendered`);
    // The template writes every special token itself (Llama-3's <|begin_of_text|>): nothing is added.
    return tok.encode(tok.chatTemplate.render(o.messages, { addGenerationPrompt: true, vars: o.chatVars }));
  }
  if (o.prompt === undefined || o.prompt === '') throw new UserError('the prompt is empty');
  return [...(tok.bos !== undefined ? [tok.bos] : []), ...tok.encode(o.prompt)];
}

/** The positions the model may use: learned position tables, else config.json's max_position_embeddings. */
function contextLimit(model: CheckedModel, config: Record<string, unknown> | undefined): number | undefined {
  const learned = maxPositions(model);
  if (learned !== undefined) return learned;
  const v = config?.['max_position_embeddings'];
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/**
 * Generates a completion of the prompt (or chat) with a KV cache, once per adapter (or once with the
 * base alone), streaming each through `onText`. Stops at any of the tokenizer's stop ids (a model
 * folder: generation_config.json's eos_token_id list and the tokenizer's eos) or after
 * `maxNewTokens`; refuses a prompt plus completion longer than the model's positions. When the
 * model's embedding is padded past the tokenizer's ids, only the tokenizer's ids are sampled.
 */
export async function generateTexts(options: GenerateTextsOptions): Promise<GeneratedText[]> {
  checkSamplingOptions(options); // before the work of loading, not after
  if (!(Number.isInteger(options.maxNewTokens) && options.maxNewTokens >= 1)) throw new UserError(`maxNewTokens must be a positive integer, got ${options.maxNewTokens}`);
  if (options.model !== undefined) {
    if (options.weights !== undefined) throw new UserError(`--weights cannot be used with --model: the base weights are the folder's (${options.model})`);
    if (options.config !== undefined) throw new UserError(`--config cannot be used with --model: the folder's config.json is used (${options.model})`);
    return withModelFolder(options.model, async (folder) => {
      const { model } = loadFolderSpec(folder, { spec: options.spec, set: options.set });
      const adapters = (options.adapters ?? []).map((d) => ({ dir: d, adapter: readAdapterDir(d) }));
      // The base goes to the device as stored (bf16 stays bf16), one tensor at a time; only the
      // weights an adapter changes or reads (PiSSA residuals, modules_to_save, trained biases) are
      // also held as float32 on the host, for the AdapterSet.
      const touched = new Set<string>();
      for (const { dir, adapter } of adapters) {
        for (const n of mergeTouches(applyPeftConfig(stripAdapters(model), adapter.config, `${dir}/adapter_config.json`), adapter, dir)) touched.add(n);
      }
      const base = await readFolderWeights(model, folder, (n) => touched.has(n));
      const upload = { paramDtypes: baseParamDtypes(model, folder, folder.dir), upload: (exec: Executor) => uploadBaseWeights(exec, model, folder, folder.dir) };
      return generateWith(options, model, base, adapters, folder, upload);
    });
  }
  if (options.spec === undefined) throw new UserError('no model to generate with: give a spec file and --weights, or --model with a Hugging Face model folder');
  if (options.weights === undefined) throw new UserError('--weights is required with a spec file (or give --model with a Hugging Face model folder)');
  const model = loadSpec(options.spec, { config: options.config, overrides: options.set });
  const adapters = (options.adapters ?? []).map((d) => ({ dir: d, adapter: readAdapterDir(d) }));
  return generateWith(options, model, readBaseWeights(model, readSafetensorsFile(options.weights)), adapters, undefined, {});
}

/**
 * `base`: every base weight as float32 (a file), or (a folder, with `upload`) those the adapters touch,
 * the rest going to each executor straight from the folder.
 */
async function generateWith(
  options: GenerateTextsOptions,
  specModel: CheckedModel,
  base: WeightMap,
  adapters: { dir: string; adapter: Adapter }[],
  folder: ModelFolder | undefined,
  upload: Pick<GeneratorOptions, 'paramDtypes' | 'upload'>,
): Promise<GeneratedText[]> {
  const dirs = adapters.map((a) => a.dir);
  const set = new AdapterSet(specModel, base);
  const names = adapterNames(dirs);
  adapters.forEach((a, i) => set.add(names[i]!, a.adapter, a.dir));
  const model = set.model();
  const tok = await tokenizerFor(model, options.tokenizer, { folder: folder?.dir });
  const vocabLimit = checkTokenizerFits(model, tok);
  const prompt = promptIds(tok, options);
  const positions = contextLimit(model, folder?.config ?? options.config);
  const cacheLen = prompt.length + options.maxNewTokens;
  if (positions !== undefined && cacheLen > positions) {
    throw new UserError(`prompt (${prompt.length} tokens) + ${options.maxNewTokens} new tokens exceeds the ${positions} positions of ${model.file}`);
  }
  const stops = stopIdsOf(tok);
  const exec = { backend: options.backend, ...(options.gpu ? { gpu: options.gpu } : {}) };
  const gen = await Generator.create(model, [set.weights()], { ...exec, ...upload, batch: 1, cacheLen });
  try {
    const results: GeneratedText[] = [];
    for (let i = 0; i < Math.max(1, dirs.length); i++) {
      // Only the gates (and any modules_to_save copies) are uploaded; the rest stays on the device.
      if (i > 0) {
        set.setActive([names[i]!]);
        gen.setWeights(set.switchWeights());
      }
      const decoder = new StreamDecoder(tok);
      let text = '';
      const emit = (piece: string) => {
        if (piece === '') return;
        text += piece;
        options.onText?.(piece, i);
      };
      const [ids] = await gen.generate([prompt], {
        maxNewTokens: options.maxNewTokens,
        temperature: options.temperature ?? 0,
        topK: options.topK ?? 0,
        topP: options.topP ?? 1,
        seed: options.seed ?? 0,
        stopTokens: stops,
        vocabLimit,
        onToken: (_row, token) => {
          if (!stops.includes(token)) emit(decoder.push(token));
        },
      });
      emit(decoder.flush());
      const last = ids![ids!.length - 1];
      results.push({ ...(dirs[i] !== undefined ? { adapter: dirs[i] } : {}), text, ids: ids!, finish: last !== undefined && stops.includes(last) ? 'stop' : 'length' });
    }
    return results;
  } finally {
    gen.destroy();
  }
}
