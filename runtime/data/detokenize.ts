// Incremental detokenization for streamed generation: push() each new token id and print what it
// returns. With byte-level tokenizers a character may be split over several tokens (an emoji is up
// to four byte tokens); decoding a partial character gives U+FFFD, so text is held back while the
// decoded tail ends in U+FFFD and released once the character completes. Each step decodes a short
// window of the latest tokens (not the whole output), starting a few tokens back, so decoders that
// depend on context (SentencePiece's leading space) give the same text as one decode of everything.
import type { DecodeOptions, Tokenizer } from './tokenizer.ts';

/** Tokens of context kept before the ones not yet printed (vLLM keeps a similar window). */
const CONTEXT_TOKENS = 6;

const REPLACEMENT = '\uFFFD';

function withoutTrailingReplacement(text: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === REPLACEMENT) end--;
  return text.slice(0, end);
}

export class StreamDecoder {
  private ids: number[] = [];
  /** First token of the decode window. */
  private start = 0;
  /** Characters of decode(ids[start:]) already returned. */
  private emitted = 0;

  constructor(
    private readonly tok: Tokenizer,
    private readonly opts: DecodeOptions = {},
  ) {}

  /** Adds a token; returns the text that became final (often '', never half a character). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.tok.decode(this.ids.slice(this.start), this.opts);
    const stable = withoutTrailingReplacement(text);
    let out = '';
    if (stable.length > this.emitted) {
      out = stable.slice(this.emitted);
      this.emitted = stable.length;
    }
    if (stable.length === text.length) this.slideWindow(text);
    return out;
  }

  /** The text still held back (a trailing incomplete character decodes as U+FFFD); resets the decoder. */
  flush(): string {
    const text = this.tok.decode(this.ids.slice(this.start), this.opts);
    const out = text.slice(this.emitted);
    this.ids = [];
    this.start = 0;
    this.emitted = 0;
    return out;
  }

  /** Moves the window forward when everything is printed and the shorter window decodes to the same tail. */
  private slideWindow(text: string): void {
    const next = this.ids.length - CONTEXT_TOKENS;
    if (next <= this.start) return;
    const tail = this.tok.decode(this.ids.slice(next), this.opts);
    if (!text.endsWith(tail) || tail.includes(REPLACEMENT)) return; // a character straddles the cut: keep the old start
    this.start = next;
    this.emitted = tail.length;
  }
}
