// A Hugging Face model folder on disk (Node): the folder read and validated by hf-folder.ts (the
// same code a page runs on picked files), its tensors streamed from file handles
// (safetensors-node.ts), plus the tokenizer files and the side files a written copy carries over.
// spec/checkpoints.md §4 describes the folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../compiler/errors.ts';
import { fileError, openFileSource } from './safetensors-node.ts';
import {
  CHAT_TEMPLATE_NAME,
  CONFIG_NAME,
  GENERATION_CONFIG_NAME,
  TOKENIZER_CONFIG_NAME,
  TOKENIZER_NAME,
  chatTemplateFromConfig,
  parseJsonObject,
  type JsonObject,
  type SpecialIds,
  type TokenizerFiles,
} from './hf-config.ts';
import { HfFolder, mergeSpecialIds, readFolder, type FolderSource } from './hf-folder.ts';

export type { TokenizerFiles } from './hf-config.ts';
export type { FolderTensor } from './hf-folder.ts';

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
  const genPath = path.join(dir, GENERATION_CONFIG_NAME);
  return mergeSpecialIds(readJsonIfPresent(genPath), genPath, config, path.join(dir, CONFIG_NAME));
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

/** A folder on disk as a FolderSource: paths joined, files read through file handles. */
export function nodeFolder(dir: string): FolderSource {
  return {
    name: dir,
    path: (file) => path.join(dir, file),
    has: (file) => fs.existsSync(path.join(dir, file)),
    text: async (file) => readText(path.join(dir, file)),
    open: (file) => openFileSource(path.join(dir, file)),
  };
}

/** A Hugging Face model folder on disk: HfFolder's validation and streamed tensors, plus its tokenizer and side files. */
export class ModelFolder extends HfFolder {
  /** Opens and validates a folder: JSON files, the index and every shard header. close() it when done. */
  static async open(dir: string): Promise<ModelFolder> {
    checkFolder(dir);
    return new ModelFolder(await readFolder(nodeFolder(dir)));
  }

  /** The folder's tokenizer files (tokenizer.json required). */
  tokenizerFiles(): TokenizerFiles {
    return readTokenizerFiles(this.dir);
  }

  /** The AUXILIARY_FILES present, as writeModelFolder's `files` to carry over to a written copy. */
  auxiliaryFiles(): { name: string; from: string }[] {
    return AUXILIARY_FILES.filter((f) => fs.existsSync(path.join(this.dir, f))).map((name) => ({ name, from: path.join(this.dir, name) }));
  }
}
