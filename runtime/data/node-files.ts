// Node-only: reads a dataset file by its extension (.jsonl -> JSONL, anything else -> plain text),
// and a model folder's tokenizer.
import * as path from 'node:path';
import { readFileBytes } from '../io/node-fs.ts';
import { readTokenizerFiles } from '../io/model-folder.ts';
import { decodeUtf8, parseJsonl, parseText, type Example } from './dataset.ts';
import { HfTokenizer } from './hf-tokenizer.ts';

export function loadExamplesFile(file: string, textSplit: 'document' | 'lines' | 'paragraphs' = 'document'): Example[] {
  const text = decodeUtf8(readFileBytes(file), file);
  return path.extname(file).toLowerCase() === '.jsonl' ? parseJsonl(text, file) : parseText(text, textSplit);
}

/** The tokenizer of a Hugging Face model folder (tokenizer.json, tokenizer_config.json, chat template, generation_config.json). */
export function loadFolderTokenizer(dir: string): HfTokenizer {
  return new HfTokenizer(readTokenizerFiles(dir));
}
