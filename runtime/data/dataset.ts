// Training examples: parsing (plain text, JSONL), tokenizing with loss masks, packing into fixed
// [rows, seqLen] arrays, and a deterministic held-out split. Pure: file reading is in node-files.ts.
//
// Label convention (Hugging Face's): labels are NOT shifted. labels[t] is ids[t] where the token
// counts towards the loss and IGNORE_INDEX (-100, PyTorch's ignore_index) where it does not (prompt
// tokens, padding); the loss compares the logits at t-1 with labels[t]. shiftLabels() gives the
// per-position targets for code that wants them aligned with the logits.
import { UserError } from '../../compiler/errors.ts';
import { Rng, mixSeed } from './rng.ts';
import type { Tokenizer } from './tokenizer.ts';
import { checkMessages, type ChatMessage, type ChatTemplate } from './chat-template.ts';
import { tokenizeChat, type ChatTokenizeOptions } from './chat-data.ts';
import { IGNORE_INDEX, type TokenizedExample } from './tokenized.ts';

export { IGNORE_INDEX, type TokenizedExample } from './tokenized.ts';

export type Example = { text: string } | { prompt: string; completion: string } | ChatExample;

/** A conversation; `where` (file:line) names it in errors found when it is tokenized. */
export interface ChatExample {
  messages: ChatMessage[];
  where?: string;
}

export function isPromptCompletion(ex: Example): ex is { prompt: string; completion: string } {
  return 'prompt' in ex;
}

export function isChat(ex: Example): ex is ChatExample {
  return 'messages' in ex;
}

/**
 * Decodes a data file as UTF-8, refusing invalid bytes with the line they are on (a silent U+FFFD
 * would train the model on replacement characters).
 */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const bad: number[] = [];
    let firstCol = 0;
    let start = 0;
    for (let line = 1; start <= bytes.length; line++) {
      let end = bytes.indexOf(0x0a, start);
      if (end < 0) end = bytes.length;
      try {
        strict.decode(bytes.subarray(start, end));
      } catch {
        if (bad.length === 0) firstCol = firstInvalidByte(bytes.subarray(start, end));
        bad.push(line);
      }
      start = end + 1;
    }
    const more = bad.length > 1 ? ` (and ${bad.length - 1} more line${bad.length > 2 ? 's' : ''}: ${bad.slice(1, 6).join(', ')}${bad.length > 6 ? ', ...' : ''})` : '';
    throw new UserError(`${source}:${bad[0]}: not valid UTF-8 at byte ${firstCol + 1} of the line${more}; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)`);
  }
}

/** Index of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629 ranges). */
function firstInvalidByte(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > b.length) return i;
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    if (b[i + 1]! < lo || b[i + 1]! > hi) return i;
    for (let k = 2; k < len; k++) if (b[i + k]! < 0x80 || b[i + k]! > 0xbf) return i;
    i += len;
  }
  return b.length;
}

/**
 * Parses JSONL: one {"text"}, {"prompt", "completion"} or {"messages": [{"role", "content"}, ...]}
 * object a line; blank lines are skipped.
 */
export function parseJsonl(text: string, source = '<jsonl>'): Example[] {
  const out: Example[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const where = `${source}:${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new UserError(`${where}: not valid JSON (${(err as Error).message})`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UserError(`${where}: expected a JSON object, got ${JSON.stringify(v).slice(0, 40)}`);
    const o = v as Record<string, unknown>;
    const hasText = 'text' in o;
    const hasPc = 'prompt' in o || 'completion' in o;
    const hasChat = 'messages' in o;
    if (hasChat && !hasText && !hasPc) {
      out.push({ messages: checkMessages(o.messages, where), where });
    } else if (hasChat) {
      throw new UserError(`${where}: a line holds "messages" or {"text"} or {"prompt", "completion"}, not several of them`);
    } else if (hasText && !hasPc) {
      if (typeof o.text !== 'string') throw new UserError(`${where}: "text" must be a string`);
      out.push({ text: o.text });
    } else if (hasPc && !hasText) {
      if (typeof o.prompt !== 'string' || typeof o.completion !== 'string') {
        throw new UserError(`${where}: "prompt" and "completion" must both be strings`);
      }
      out.push({ prompt: o.prompt, completion: o.completion });
    } else {
      throw new UserError(`${where}: expected {"text": ...}, {"prompt": ..., "completion": ...} or {"messages": [...]}, got keys ${Object.keys(o).join(', ') || '(none)'}`);
    }
  }
  if (out.length === 0) throw new UserError(`${source}: no examples`);
  return out;
}

/** Plain text: the whole file as one document, one document a line, or a paragraph (blank-line separated). */
export function parseText(text: string, split: 'document' | 'lines' | 'paragraphs' = 'document'): Example[] {
  const clean = text.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  const parts = split === 'document' ? [clean] : split === 'lines' ? clean.split('\n') : clean.split(/\n\s*\n/);
  return parts.filter((p) => p.trim() !== '').map((p) => ({ text: p }));
}

/**
 * Tokenizes one example. Prompt tokens get IGNORE_INDEX labels, so only the completion is learned.
 * Prompt and completion are encoded separately so the boundary never falls inside a BPE token.
 * appendEos (default true) adds the tokenizer's eos, which is learned as part of the completion;
 * the tokenizer's bos, if it has one, starts each text and prompt. Chat examples are rendered with
 * the chat template (the tokenizer's, unless opts.chatTemplate), which supplies every special token,
 * and only the assistant turns are learned (chat-data.ts).
 */
export function tokenizeExample(tok: Tokenizer, ex: Example, opts: { appendEos?: boolean; chatTemplate?: ChatTemplate; chat?: ChatTokenizeOptions } = {}): TokenizedExample {
  if (isChat(ex)) {
    const template = opts.chatTemplate ?? tok.chatTemplate;
    const where = ex.where ?? 'chat example';
    if (!template) throw new UserError(`${where}: chat examples need the model's chat template, and tokenizer ${tok.name} has none (tokenizer_config.json "chat_template" or chat_template.jinja)`);
    return tokenizeChat(tok, template, ex.messages, where, opts.chat);
  }
  const eos = (opts.appendEos ?? true) && tok.eos !== undefined ? [tok.eos] : [];
  const bos = tok.bos !== undefined ? [tok.bos] : [];
  if (isPromptCompletion(ex)) {
    const p = [...bos, ...tok.encode(ex.prompt)];
    const c = [...tok.encode(ex.completion), ...eos];
    return { ids: [...p, ...c], labels: [...p.map(() => IGNORE_INDEX), ...c] };
  }
  const ids = [...bos, ...tok.encode(ex.text), ...eos];
  // A prepended bos is context, not a target (no logit predicts it).
  return { ids, labels: ids.map((id, i) => (i < bos.length ? IGNORE_INDEX : id)) };
}

/** Fixed-length rows, flattened row-major: ids and labels are [count, seqLen]. */
export interface Rows {
  count: number;
  seqLen: number;
  ids: Int32Array;
  labels: Int32Array;
}

function checkSeqLen(seqLen: number): void {
  if (!Number.isInteger(seqLen) || seqLen < 2) throw new UserError(`sequence length ${seqLen} must be an integer >= 2`);
}

/**
 * Concatenates examples into one stream and cuts it into rows of seqLen (for pretraining corpora).
 * The tail that does not fill a row is dropped unless padTail, which pads it (labels ignored).
 */
export function packConcat(examples: TokenizedExample[], seqLen: number, opts: { padId?: number; padTail?: boolean } = {}): Rows {
  checkSeqLen(seqLen);
  const total = examples.reduce((n, e) => n + e.ids.length, 0);
  const count = opts.padTail ? Math.ceil(total / seqLen) : Math.floor(total / seqLen);
  const ids = new Int32Array(count * seqLen).fill(opts.padId ?? 0);
  const labels = new Int32Array(count * seqLen).fill(IGNORE_INDEX);
  let pos = 0;
  for (const e of examples) {
    for (let i = 0; i < e.ids.length && pos < ids.length; i++, pos++) {
      ids[pos] = e.ids[i]!;
      labels[pos] = e.labels[i]!;
    }
  }
  return { count, seqLen, ids, labels };
}

export type Overflow = 'truncate-right' | 'truncate-left' | 'error';

/** One example a row, padded with padId (labels ignored) or cut to seqLen (for prompt/completion tasks). */
export function packPadded(examples: TokenizedExample[], seqLen: number, opts: { padId?: number; overflow?: Overflow } = {}): Rows {
  checkSeqLen(seqLen);
  const count = examples.length;
  const ids = new Int32Array(count * seqLen).fill(opts.padId ?? 0);
  const labels = new Int32Array(count * seqLen).fill(IGNORE_INDEX);
  examples.forEach((e, r) => {
    let start = 0;
    if (e.ids.length > seqLen) {
      const mode = opts.overflow ?? 'truncate-right';
      if (mode === 'error') throw new UserError(`example ${r} has ${e.ids.length} tokens, more than the sequence length ${seqLen}`);
      if (mode === 'truncate-left') start = e.ids.length - seqLen;
    }
    const n = Math.min(seqLen, e.ids.length - start);
    ids.set(e.ids.slice(start, start + n), r * seqLen);
    labels.set(e.labels.slice(start, start + n), r * seqLen);
  });
  return { count, seqLen, ids, labels };
}

/** Targets aligned with the logits: out[b, t] = labels[b, t + 1], and IGNORE_INDEX at the last position. */
export function shiftLabels(labels: Int32Array, rows: number, seqLen: number): Int32Array {
  const out = new Int32Array(rows * seqLen).fill(IGNORE_INDEX);
  for (let r = 0; r < rows; r++) out.set(labels.subarray(r * seqLen + 1, (r + 1) * seqLen), r * seqLen);
  return out;
}

/** Counts label positions that contribute to the loss. */
export function countTargets(labels: Int32Array): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] !== IGNORE_INDEX) n++;
  return n;
}

/**
 * A deterministic held-out split: a seeded permutation picks round(fraction * n) items (at least one
 * when fraction > 0 and n > 1); both parts keep the input order.
 */
export function splitHeldOut<T>(items: readonly T[], fraction: number, seed: number): { train: T[]; heldOut: T[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new UserError(`held-out fraction ${fraction} must be in [0, 1)`);
  let k = Math.round(items.length * fraction);
  if (fraction > 0 && k === 0 && items.length > 1) k = 1;
  const chosen = new Set(new Rng(mixSeed(seed, 0x5eed)).permutation(items.length).slice(0, k));
  const train: T[] = [];
  const heldOut: T[] = [];
  items.forEach((x, i) => (chosen.has(i) ? heldOut : train).push(x));
  return { train, heldOut };
}
