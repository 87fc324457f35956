// Node-only: reads a dataset file by its extension (.jsonl -> JSONL, anything else -> plain text).
import * as path from 'node:path';
import { readTextFile } from '../io/node-fs.ts';
import { parseJsonl, parseText, type Example } from './dataset.ts';

export function loadExamplesFile(file: string, textSplit: 'document' | 'lines' | 'paragraphs' = 'document'): Example[] {
  const text = readTextFile(file);
  return path.extname(file).toLowerCase() === '.jsonl' ? parseJsonl(text, file) : parseText(text, textSplit);
}
