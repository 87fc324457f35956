// A Hugging Face model folder on disk (Node): config.json, generation_config.json, the weights
// (model.safetensors, or model.safetensors.index.json + shards) and the tokenizer files. Opening it
// reads and validates every JSON file and every shard header, and nothing else: tensors are read
// one at a time, when asked for, from file handles (safetensors-node.ts), so a model loads with
// about one tensor in host memory. spec/checkpoints.md §4 describes the folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../compiler/errors.ts';
import type { FloatDtype, StoredTensor } from './dtypes.ts';
import type { TensorInfo } from './safetensors.ts';
import type { SafetensorsReader } from './safetensors-reader.ts';
import { fileError, openSafetensors } from './safetensors-node.ts';
import {
  CHAT_TEMPLATE_NAME,
  CONFIG_NAME,
  GENERATION_CONFIG_NAME,
  SINGLE_WEIGHTS_NAME,
  TOKENIZER_CONFIG_NAME,
  TOKENIZER_NAME,
  WEIGHTS_INDEX_NAME,
  baseModelNameOrPath,
  chatTemplateFromConfig,
  configDtype,
  parseJsonObject,
  parseShardIndex,
  readSpecialIds,
  type JsonObject,
  type ShardIndex,
  type SpecialIds,
  type TokenizerFiles,
} from './hf-config.ts';

export type { TokenizerFiles } from './hf-config.ts';

/** A tensor of the folder: its entry in its file, and which file (a name inside the folder). */
export interface FolderTensor extends TensorInfo {
  file: string;
}

/** Files beside the weights that a written copy of the model carries over (tokenizer, generation config). */
export const AUXILIARY_FILES = [
  GENERATION_CONFIG_NAME,
  TOKENIZER_NAME,
  TOKENIZER_CONFIG_NAME,
  CHAT_TEMPLATE_NAME,
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
] as const;

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    fileError(err, file);
  }
}

function readJsonIfPresent(file: string): JsonObject | undefined {
  return fs.existsSync(file) ? parseJsonObject(readText(file), file) : undefined;
}

function checkFolder(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UserError(`${dir}: no such model folder`);
  }
  if (!st.isDirectory()) throw new UserError(`${dir}: not a folder (a Hugging Face model folder holds config.json and the weights)`);
}

/** The special ids generate() uses: generation_config.json's where it has them, else config.json's. */
function specialIdsOf(dir: string, config: JsonObject | undefined): SpecialIds {
  const gen = readJsonIfPresent(path.join(dir, GENERATION_CONFIG_NAME));
  const fromGen = gen ? readSpecialIds(gen, path.join(dir, GENERATION_CONFIG_NAME)) : { eos: [] };
  const fromCfg = config ? readSpecialIds(config, path.join(dir, CONFIG_NAME)) : { eos: [] };
  return {
    bos: fromGen.bos ?? fromCfg.bos,
    eos: fromGen.eos.length > 0 ? fromGen.eos : fromCfg.eos,
    pad: fromGen.pad ?? fromCfg.pad,
  };
}

/** Reads a folder's tokenizer files (tokenizer.json is required; the config may be absent). */
export function readTokenizerFiles(dir: string): TokenizerFiles {
  checkFolder(dir);
  const tj = path.join(dir, TOKENIZER_NAME);
  if (!fs.existsSync(tj)) {
    const hint = fs.existsSync(path.join(dir, 'tokenizer.model')) ? ' (only a SentencePiece tokenizer.model, which Rankfold does not read: save the tokenizer with transformers to get tokenizer.json)' : '';
    throw new UserError(`${dir}: no ${TOKENIZER_NAME}${hint}`);
  }
  const tcPath = path.join(dir, TOKENIZER_CONFIG_NAME);
  const tokenizerConfig = readJsonIfPresent(tcPath) ?? {};
  const jinja = path.join(dir, CHAT_TEMPLATE_NAME);
  const chatTemplate = fs.existsSync(jinja) ? readText(jinja) : chatTemplateFromConfig(tokenizerConfig, tcPath);
  const config = readJsonIfPresent(path.join(dir, CONFIG_NAME));
  return { source: dir, tokenizerJson: parseJsonObject(readText(tj), tj), tokenizerConfig, chatTemplate, special: specialIdsOf(dir, config) };
}

export class ModelFolder {
  private readonly byName = new Map<string, FolderTensor>();

  private constructor(
    readonly dir: string,
    readonly config: JsonObject,
    /** The ids generation uses (generation_config.json first). */
    readonly special: SpecialIds,
    /** The shard index, for sharded folders. */
    readonly index: ShardIndex | undefined,
    private readonly readers: Map<string, SafetensorsReader>,
    /** Every tensor, file by file in data order. */
    readonly tensors: FolderTensor[],
  ) {
    for (const t of tensors) this.byName.set(t.name, t);
  }

  /** Opens and validates a folder: JSON files, the index and every shard header. close() it when done. */
  static async open(dir: string): Promise<ModelFolder> {
    checkFolder(dir);
    const cfgPath = path.join(dir, CONFIG_NAME);
    if (!fs.existsSync(cfgPath)) throw new UserError(`${dir}: not a Hugging Face model folder (no ${CONFIG_NAME})`);
    const config = parseJsonObject(readText(cfgPath), cfgPath);
    configDtype(config, cfgPath); // refuse an unknown dtype name now, not when it is first needed
    const special = specialIdsOf(dir, config);
    const single = path.join(dir, SINGLE_WEIGHTS_NAME);
    const indexPath = path.join(dir, WEIGHTS_INDEX_NAME);
    const hasSingle = fs.existsSync(single);
    const hasIndex = fs.existsSync(indexPath);
    if (hasSingle && hasIndex) {
      throw new UserError(`${dir}: holds both ${SINGLE_WEIGHTS_NAME} and ${WEIGHTS_INDEX_NAME}; one of them is stale (transformers would load ${SINGLE_WEIGHTS_NAME}): remove the other`);
    }
    if (!hasSingle && !hasIndex) {
      const pickle = ['pytorch_model.bin', 'pytorch_model.bin.index.json'].find((f) => fs.existsSync(path.join(dir, f)));
      const hint = pickle ? ` (${pickle} is a pickle, which Rankfold does not load: resave with safe_serialization=True)` : '';
      throw new UserError(`${dir}: no ${SINGLE_WEIGHTS_NAME} or ${WEIGHTS_INDEX_NAME}${hint}`);
    }
    const index = hasIndex ? parseShardIndex(readText(indexPath), indexPath) : undefined;
    const files = index ? index.files : [SINGLE_WEIGHTS_NAME];
    const readers = new Map<string, SafetensorsReader>();
    const closeAll = () => Promise.all([...readers.values()].map((r) => r.close()));
    try {
      const tensors: FolderTensor[] = [];
      const owner = new Map<string, string>();
      for (const file of files) {
        const full = path.join(dir, file);
        if (index && !fs.existsSync(full)) throw new UserError(`${indexPath}: shard ${file} is missing from the folder`);
        const r = await openSafetensors(full);
        readers.set(file, r);
        for (const info of r.list()) {
          const prev = owner.get(info.name);
          if (prev !== undefined) throw new UserError(`${dir}: tensor "${info.name}" is in both ${prev} and ${file}`);
          owner.set(info.name, file);
          if (index) {
            const listed = index.weightMap.get(info.name);
            if (listed === undefined) throw new UserError(`${full}: tensor "${info.name}" is not in ${WEIGHTS_INDEX_NAME} (stale shard or index?)`);
            if (listed !== file) throw new UserError(`${full}: tensor "${info.name}" is listed in ${WEIGHTS_INDEX_NAME} under ${listed}`);
          }
          tensors.push({ ...info, file });
        }
      }
      if (index) {
        for (const [name, file] of index.weightMap) {
          if (owner.get(name) !== file) throw new UserError(`${indexPath}: tensor "${name}" is not in its shard ${file}`);
        }
      }
      return new ModelFolder(dir, config, special, index, readers, tensors);
    } catch (err) {
      await closeAll();
      throw err;
    }
  }

  get modelType(): string | undefined {
    return typeof this.config.model_type === 'string' ? this.config.model_type : undefined;
  }

  /** For adapter_config.json's base_model_name_or_path: `_name_or_path`, else the folder. */
  get nameOrPath(): string {
    return baseModelNameOrPath(this.config, this.dir);
  }

  /** The dtype config.json declares (dtype, else torch_dtype); each tensor still reports its own. */
  get dtype(): FloatDtype | undefined {
    return configDtype(this.config, path.join(this.dir, CONFIG_NAME));
  }

  /** The weight files, sorted. */
  get files(): string[] {
    return [...this.readers.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): FolderTensor {
    const t = this.byName.get(name);
    if (!t) throw new UserError(`${this.dir}: the model has no tensor "${name}"`);
    return t;
  }

  private reader(name: string): SafetensorsReader {
    return this.readers.get(this.info(name).file)!;
  }

  /** One tensor as stored (dtype, shape, raw bytes). */
  async read(name: string): Promise<StoredTensor> {
    return this.reader(name).read(name);
  }

  /** Part of a tensor's bytes, to upload a tensor larger than one GPU binding in pieces. */
  async readBytes(name: string, start: number, length: number): Promise<Uint8Array> {
    return this.reader(name).readBytes(name, start, length);
  }

  /** Tensors one at a time (file order by default); each is read only when the loop reaches it. */
  async *stream(names: readonly string[] = this.tensors.map((t) => t.name)): AsyncGenerator<[FolderTensor, StoredTensor]> {
    for (const name of names) yield [this.info(name), await this.read(name)];
  }

  /** The folder's tokenizer files (tokenizer.json required). */
  tokenizerFiles(): TokenizerFiles {
    return readTokenizerFiles(this.dir);
  }

  /** The AUXILIARY_FILES present, as writeModelFolder's `files` to carry over to a written copy. */
  auxiliaryFiles(): { name: string; from: string }[] {
    return AUXILIARY_FILES.filter((f) => fs.existsSync(path.join(this.dir, f))).map((name) => ({ name, from: path.join(this.dir, name) }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.readers.values()].map((r) => r.close()));
  }
}
