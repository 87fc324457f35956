// Tokenizers: the interface the trainer and generator use, a byte-level one (vocab 256, id = UTF-8
// byte) for tiny char models, and GPT-2's BPE from the gpt-tokenizer package, which bundles the
// vocabulary so nothing is downloaded at run time. GPT-2's tables are large, so that module is
// imported lazily: loading a byte-level model never pays for them. A model folder's own
// tokenizer.json is hf-tokenizer.ts, behind the same interface.
import { UserError } from '../../compiler/errors.ts';
import type { ChatTemplate } from './chat-template.ts';

export interface DecodeOptions {
  /** Leave out special tokens (<|im_end|>, <|eot_id|>, ...). */
  skipSpecialTokens?: boolean;
}

export interface Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  /** End-of-text id, appended between documents and after completions when defined. */
  readonly eos?: number;
  /** Prepended to each document and prompt when defined (a tokenizer whose post-processor adds a BOS). */
  readonly bos?: number;
  /** Padding id; eos when undefined. */
  readonly pad?: number;
  /** Generation stops at any of these; [eos] when undefined. */
  readonly stopIds?: readonly number[];
  /** The model's chat template, for tokenizers that come with one. */
  readonly chatTemplate?: ChatTemplate;
  /** Token ids of the text; adds no special tokens (bos, eos) of its own. */
  encode(text: string): number[];
  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string;
}

/** One token per UTF-8 byte. Decoding replaces invalid UTF-8 (a cut multi-byte char) with U+FFFD. */
export class ByteTokenizer implements Tokenizer {
  readonly name = 'bytes';
  readonly vocabSize = 256;
  readonly eos?: number;
  private enc = new TextEncoder();
  private dec = new TextDecoder('utf-8', { fatal: false });

  /** eos: a byte to use as end-of-text (e.g. 10 for '\n'); none by default. */
  constructor(opts: { eos?: number } = {}) {
    if (opts.eos !== undefined) {
      if (!Number.isInteger(opts.eos) || opts.eos < 0 || opts.eos > 255) throw new UserError(`byte tokenizer eos ${opts.eos} is not a byte`);
      this.eos = opts.eos;
    }
  }

  encode(text: string): number[] {
    return Array.from(this.enc.encode(text));
  }

  decode(ids: ArrayLike<number>): string {
    const bytes = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < 256)) throw new UserError(`byte tokenizer cannot decode id ${id} (vocab 256)`);
      bytes[i] = id;
    }
    return this.dec.decode(bytes);
  }
}

/** GPT-2's byte-level BPE (r50k_base: 50257 ids, <|endoftext|> = 50256). */
export const GPT2_EOS = 50256;
export const GPT2_VOCAB = 50257;

export async function loadGpt2Tokenizer(): Promise<Tokenizer> {
  const bpe = await import('gpt-tokenizer/encoding/r50k_base');
  // Text that happens to contain "<|endoftext|>" is encoded as plain text, never as the special id:
  // only the data pipeline decides where documents end.
  const opts = { disallowedSpecial: new Set<string>() };
  return {
    name: 'gpt2',
    vocabSize: GPT2_VOCAB,
    eos: GPT2_EOS,
    encode: (text) => bpe.encode(text, opts),
    decode: (ids) => {
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        if (!(Number.isInteger(id) && id >= 0 && id < GPT2_VOCAB)) throw new UserError(`gpt2 tokenizer cannot decode id ${id} (vocab ${GPT2_VOCAB})`);
      }
      return bpe.decode(Array.from(ids));
    },
  };
}

export const TOKENIZER_NAMES = ['bytes', 'gpt2'] as const;

/** The ids that end generation: stopIds, else eos. */
export function stopIdsOf(tok: Tokenizer): number[] {
  return tok.stopIds ? [...tok.stopIds] : tok.eos !== undefined ? [tok.eos] : [];
}

/** A tokenizer by name, as spec files and the CLI refer to them. */
export async function loadTokenizer(name: string, opts: { eos?: number } = {}): Promise<Tokenizer> {
  if (name === 'bytes' || name === 'byte' || name === 'char') return new ByteTokenizer(opts);
  if (name === 'gpt2' || name === 'r50k_base') return loadGpt2Tokenizer();
  throw new UserError(`unknown tokenizer "${name}" (known: ${TOKENIZER_NAMES.join(', ')})`);
}
