// A model's own tokenizer from its tokenizer.json, through Hugging Face's @huggingface/tokenizers
// (the tokenizers.js that transformers.js uses: BPE, WordPiece, Unigram, every normalizer and
// pre-tokenizer the Rust library writes). Pure: the parsed files come from runtime/io/model-folder.ts.
//
// Conventions, as transformers has them:
// - encode(text) adds no special tokens: the data pipeline adds `bos` itself (prepended when the
//   tokenizer's post-processor would add it, e.g. Llama-3's <|begin_of_text|>), and chat text gets
//   its special tokens from the template. Special tokens written in the text (<|im_end|>) are
//   recognized, as transformers does.
// - eos: generation_config.json's eos_token_id (its first, when a list) before tokenizer_config's
//   eos_token; generation stops at any of `stopIds` (generation_config's list plus the tokenizer's eos).
// - decode() is lossless: no clean_up_tokenization_spaces (which rewrites " ," to ","), so streamed
//   text is exactly the bytes the model produced.
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import { UserError } from '../../compiler/errors.ts';
import { specialTokenText, type JsonObject, type TokenizerFiles } from '../io/hf-config.ts';
import { ChatTemplate } from './chat-template.ts';
import type { DecodeOptions, Tokenizer } from './tokenizer.ts';

const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token'] as const;

export class HfTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly eos?: number;
  readonly bos?: number;
  readonly pad?: number;
  readonly stopIds: readonly number[];
  readonly chatTemplate?: ChatTemplate;
  /** Ids of added tokens marked special (skipped by decode({skipSpecialTokens: true})). */
  readonly specialIds: ReadonlySet<number>;
  /** tokenizer_config.json's special tokens as text (bos_token, eos_token, ...), as chat templates see them. */
  readonly specialTokens: Readonly<Record<string, string>>;
  private readonly impl: HfTokenizerImpl;

  constructor(files: TokenizerFiles) {
    const where = `${files.source}/tokenizer.json`;
    const model = files.tokenizerJson.model as JsonObject | undefined;
    if (!model || typeof model !== 'object') throw new UserError(`${where}: no "model" section (not a tokenizers library file?)`);
    try {
      this.impl = new HfTokenizerImpl(files.tokenizerJson, files.tokenizerConfig);
    } catch (err) {
      throw new UserError(`${where}: cannot build the tokenizer (${(err as Error).message})`);
    }
    this.name = `hf:${files.source}`;
    const vocab = this.impl.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const tc = files.tokenizerConfig;
    const tcWhere = `${files.source}/tokenizer_config.json`;
    const specialTokens: Record<string, string> = {};
    for (const k of SPECIAL_TOKEN_KEYS) {
      const text = specialTokenText(tc, k, tcWhere);
      if (text !== undefined) specialTokens[k] = text;
    }
    this.specialTokens = specialTokens;
    const idOf = (key: string): number | undefined => {
      const text = specialTokens[key];
      if (text === undefined) return undefined;
      const id = this.impl.token_to_id(text);
      if (id === undefined) throw new UserError(`${tcWhere}: ${key} ${JSON.stringify(text)} is not in the vocabulary`);
      return id;
    };
    const tokEos = idOf('eos_token');
    this.eos = files.special.eos[0] ?? tokEos;
    this.stopIds = [...new Set([...files.special.eos, ...(tokEos !== undefined ? [tokEos] : [])])];
    this.pad = files.special.pad ?? idOf('pad_token');
    // BOS is whatever the post-processor puts before a sequence (transformers 5 ignores add_bos_token
    // when tokenizer.json exists; the post-processor alone decides).
    const withSpecial = this.impl.encode('a', { add_special_tokens: true }).ids;
    const plain = this.impl.encode('a', { add_special_tokens: false }).ids;
    const at = indexOfSeq(withSpecial, plain);
    if (at > 1) throw new UserError(`${where}: the post-processor adds ${at} tokens before a sequence; Rankfold handles a single BOS`);
    this.bos = at === 1 ? withSpecial[0] : undefined;
    for (const [id, v] of [['eos', this.eos], ['pad', this.pad], ['bos', this.bos]] as const) {
      if (v !== undefined && v >= this.vocabSize) throw new UserError(`${files.source}: ${id} id ${v} is outside the tokenizer's ${this.vocabSize} ids`);
    }
    const special = new Set<number>();
    for (const [id, t] of this.impl.get_added_tokens_decoder()) if (t.special) special.add(id);
    this.specialIds = special;
    if (files.chatTemplate !== undefined) this.chatTemplate = new ChatTemplate(files.chatTemplate, specialTokens, `${files.source} chat template`);
  }

  encode(text: string): number[] {
    return this.impl.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const list = Array.from(ids);
    // tokenizers.js refuses an empty list; nothing decodes to nothing (a stream ended before its first token).
    if (list.length === 0) return '';
    for (const id of list) {
      if (!(Number.isInteger(id) && id >= 0 && id < this.vocabSize)) throw new UserError(`${this.name} cannot decode id ${id} (the tokenizer has ${this.vocabSize} ids)`);
    }
    return this.impl.decode(list, { skip_special_tokens: opts.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.impl.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.impl.id_to_token(id);
  }
}

function indexOfSeq(hay: readonly number[], needle: readonly number[]): number {
  for (let i = 0; i + needle.length <= hay.length; i++) if (needle.every((v, j) => hay[i + j] === v)) return i;
  return -1;
}
