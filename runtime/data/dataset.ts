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

export const IGNORE_INDEX = -100;

export type Example = { text: string } | { prompt: string; completion: string };

export function isPromptCompletion(ex: Example): ex is { prompt: string; completion: string } {
  return 'prompt' in ex;
}

/** Parses JSONL: one {"text"} or {"prompt", "completion"} object a line; blank lines are skipped. */
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
    if (hasText && !hasPc) {
      if (typeof o.text !== 'string') throw new UserError(`${where}: "text" must be a string`);
      out.push({ text: o.text });
    } else if (hasPc && !hasText) {
      if (typeof o.prompt !== 'string' || typeof o.completion !== 'string') {
        throw new UserError(`${where}: "prompt" and "completion" must both be strings`);
      }
      out.push({ prompt: o.prompt, completion: o.completion });
    } else {
      throw new UserError(`${where}: expected {"text": ...} or {"prompt": ..., "completion": ...}, got keys ${Object.keys(o).join(', ') || '(none)'}`);
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

export interface TokenizedExample {
  ids: number[];
  labels: number[];
}

/**
 * Tokenizes one example. Prompt tokens get IGNORE_INDEX labels, so only the completion is learned.
 * Prompt and completion are encoded separately so the boundary never falls inside a BPE token.
 * appendEos (default true) adds the tokenizer's eos, which is learned as part of the completion.
 */
export function tokenizeExample(tok: Tokenizer, ex: Example, opts: { appendEos?: boolean } = {}): TokenizedExample {
  const eos = (opts.appendEos ?? true) && tok.eos !== undefined ? [tok.eos] : [];
  if (isPromptCompletion(ex)) {
    const p = tok.encode(ex.prompt);
    const c = [...tok.encode(ex.completion), ...eos];
    return { ids: [...p, ...c], labels: [...p.map(() => IGNORE_INDEX), ...c] };
  }
  const ids = [...tok.encode(ex.text), ...eos];
  return { ids, labels: [...ids] };
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
