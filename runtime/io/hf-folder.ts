// A Hugging Face model folder read through a FolderSource: config.json, generation_config.json and the
// weights (model.safetensors, or model.safetensors.index.json + shards). Opening reads and validates
// every JSON file and every shard header, and nothing else: tensors are read one at a time, when
// asked for, through each file's ByteSource, so a model loads with about one tensor in host memory.
// Pure: a Node folder on disk (model-folder.ts: ModelFolder) and the files a page's directory
// picker gives (apps/playground) go through the same validation and the same streaming reader.
// spec/checkpoints.md §4 describes the folder.
import { UserError } from '../../compiler/errors.ts';
import type { FloatDtype, StoredTensor } from './dtypes.ts';
import type { TensorInfo } from './safetensors.ts';
import { SafetensorsReader, type ByteSource } from './safetensors-reader.ts';
import {
  CONFIG_NAME,
  GENERATION_CONFIG_NAME,
  SINGLE_WEIGHTS_NAME,
  WEIGHTS_INDEX_NAME,
  baseModelNameOrPath,
  configDtype,
  parseJsonObject,
  parseShardIndex,
  readSpecialIds,
  type JsonObject,
  type ShardIndex,
  type SpecialIds,
} from './hf-config.ts';

/** The files of one folder, wherever they live. */
export interface FolderSource {
  /** The folder's path or name, for messages. */
  readonly name: string;
  /** How messages name a file of the folder (its path in Node). */
  path(file: string): string;
  has(file: string): boolean;
  text(file: string): Promise<string>;
  /** Random access to a file's bytes; the caller closes it. */
  open(file: string): Promise<ByteSource>;
}

/** A tensor of the folder: its entry in its file, and which file (a name inside the folder). */
export interface FolderTensor extends TensorInfo {
  file: string;
}

/** The special ids generate() uses: generation_config.json's where it has them, else config.json's. */
export function mergeSpecialIds(gen: JsonObject | undefined, genSource: string, config: JsonObject | undefined, configSource: string): SpecialIds {
  const fromGen = gen ? readSpecialIds(gen, genSource) : { eos: [] };
  const fromCfg = config ? readSpecialIds(config, configSource) : { eos: [] };
  return {
    bos: fromGen.bos ?? fromCfg.bos,
    eos: fromGen.eos.length > 0 ? fromGen.eos : fromCfg.eos,
    pad: fromGen.pad ?? fromCfg.pad,
  };
}

/** What opening a folder found: its JSON files and an open reader per weight file. */
export interface FolderContents {
  source: FolderSource;
  config: JsonObject;
  special: SpecialIds;
  index: ShardIndex | undefined;
  readers: Map<string, SafetensorsReader>;
  tensors: FolderTensor[];
}

/** Reads and validates a folder's JSON files, its index and every shard header. */
export async function readFolder(src: FolderSource): Promise<FolderContents> {
  const dir = src.name;
  const cfgPath = src.path(CONFIG_NAME);
  if (!src.has(CONFIG_NAME)) throw new UserError(`${dir}: not a Hugging Face model folder (no ${CONFIG_NAME})`);
  const config = parseJsonObject(await src.text(CONFIG_NAME), cfgPath);
  configDtype(config, cfgPath); // refuse an unknown dtype name now, not when it is first needed
  const gen = src.has(GENERATION_CONFIG_NAME) ? parseJsonObject(await src.text(GENERATION_CONFIG_NAME), src.path(GENERATION_CONFIG_NAME)) : undefined;
  const special = mergeSpecialIds(gen, src.path(GENERATION_CONFIG_NAME), config, cfgPath);
  const indexPath = src.path(WEIGHTS_INDEX_NAME);
  const hasSingle = src.has(SINGLE_WEIGHTS_NAME);
  const hasIndex = src.has(WEIGHTS_INDEX_NAME);
  if (hasSingle && hasIndex) {
    throw new UserError(`${dir}: holds both ${SINGLE_WEIGHTS_NAME} and ${WEIGHTS_INDEX_NAME}; one of them is stale (transformers would load ${SINGLE_WEIGHTS_NAME}): remove the other`);
  }
  if (!hasSingle && !hasIndex) {
    const pickle = ['pytorch_model.bin', 'pytorch_model.bin.index.json'].find((f) => src.has(f));
    const hint = pickle ? ` (${pickle} is a pickle, which Rankfold does not load: resave with safe_serialization=True)` : '';
    throw new UserError(`${dir}: no ${SINGLE_WEIGHTS_NAME} or ${WEIGHTS_INDEX_NAME}${hint}`);
  }
  const index = hasIndex ? parseShardIndex(await src.text(WEIGHTS_INDEX_NAME), indexPath) : undefined;
  const files = index ? index.files : [SINGLE_WEIGHTS_NAME];
  const readers = new Map<string, SafetensorsReader>();
  try {
    const tensors: FolderTensor[] = [];
    const owner = new Map<string, string>();
    for (const file of files) {
      const full = src.path(file);
      if (index && !src.has(file)) throw new UserError(`${indexPath}: shard ${file} is missing from the folder`);
      const bytes = await src.open(file);
      const r = await SafetensorsReader.open(bytes).catch(async (err: unknown) => {
        await bytes.close();
        throw err;
      });
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
    return { source: src, config, special, index, readers, tensors };
  } catch (err) {
    await Promise.all([...readers.values()].map((r) => r.close()));
    throw err;
  }
}

/** An opened folder: its config, ids and tensors, read one at a time. close() it when done. */
export class HfFolder {
  /** Where the files are read from. */
  readonly folder: FolderSource;
  readonly config: JsonObject;
  /** The ids generation uses (generation_config.json first). */
  readonly special: SpecialIds;
  /** The shard index, for sharded folders. */
  readonly index: ShardIndex | undefined;
  /** Every tensor, file by file in data order. */
  readonly tensors: FolderTensor[];
  private readonly readers: Map<string, SafetensorsReader>;
  private readonly byName = new Map<string, FolderTensor>();

  /** From readFolder's result; HfFolder.openSource does both. */
  constructor(c: FolderContents) {
    this.folder = c.source;
    this.config = c.config;
    this.special = c.special;
    this.index = c.index;
    this.tensors = c.tensors;
    this.readers = c.readers;
    for (const t of c.tensors) this.byName.set(t.name, t);
  }

  static async openSource(src: FolderSource): Promise<HfFolder> {
    return new HfFolder(await readFolder(src));
  }

  /** The folder's path or name. */
  get dir(): string {
    return this.folder.name;
  }

  /** The same, named as a SafetensorsFile names its source (for messages). */
  get source(): string {
    return this.folder.name;
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
    return configDtype(this.config, this.folder.path(CONFIG_NAME));
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

  async close(): Promise<void> {
    await Promise.all([...this.readers.values()].map((r) => r.close()));
  }
}
