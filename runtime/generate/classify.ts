// Scoring a classification task by likelihood ("rank classification", as the GPT-3 paper scores
// multiple-choice tasks): every candidate answer is appended to the prompt and scored by the
// log-probability of its decisive prefix, the tokens up to and including the first one that tells
// it apart from every other candidate; the most likely candidate is the prediction. The tokens
// after that are spelling, not decision: summing them too would penalize long labels whenever a
// small model is unsure how to spell them ("contradiction" pays for 14 characters, "neutral" for
// 8), and averaging would favour them. Unlike greedy generation this measures the decision, not
// whether a small char model spells the label right.
import { IGNORE_INDEX, packPadded, shiftLabels, tokenizeExample } from '../data/dataset.ts';
import type { Tokenizer } from '../data/tokenizer.ts';
import type { Executor } from '../exec/executor.ts';
import { feedTokens } from '../model/feeds.ts';

export interface Ranked {
  /** Index into the candidates of the most likely one, per prompt. */
  choice: number[];
  /** Log-probability of each candidate's decisive prefix, [prompt][candidate]. */
  logProbs: number[][];
  /** Tokens scored per candidate (its decisive prefix). */
  decisive: number[];
}

/** Per candidate: 1 + the longest prefix it shares with another candidate, capped at its length. */
export function decisiveLengths(candidates: readonly number[][]): number[] {
  return candidates.map((c, i) => {
    let shared = 0;
    candidates.forEach((o, j) => {
      if (j === i) return;
      let n = 0;
      while (n < c.length && n < o.length && c[n] === o[n]) n++;
      shared = Math.max(shared, n);
    });
    return Math.min(c.length, shared + 1);
  });
}

/**
 * Ranks `candidates` (which must differ) after each prompt with an executor of a graph that outputs `logits` [B, T, V]
 * (mode 'eval'). Rows that do not fill the last batch repeat row 0 and are ignored. Log-softmax is
 * taken in float64 on the host: only the candidate positions of each row are read.
 */
export async function rankCandidates(exec: Executor, tok: Tokenizer, prompts: readonly string[], candidates: readonly string[], batch: number, seq: number): Promise<Ranked> {
  if (candidates.length === 0) throw new Error('rankCandidates: no candidates');
  const decisive = decisiveLengths(candidates.map((c) => tok.encode(c)));
  const pairs = prompts.flatMap((prompt) => candidates.map((completion, c) => {
    const row = tokenizeExample(tok, { prompt, completion }, { appendEos: false });
    // Only the decisive prefix is scored: later label positions are ignored.
    const first = row.labels.findIndex((l) => l !== IGNORE_INDEX);
    return { ids: row.ids, labels: row.labels.map((l, t) => (t >= first + decisive[c]! ? IGNORE_INDEX : l)) };
  }));
  const rows = packPadded(pairs, seq, { overflow: 'error' });
  const scores = new Float64Array(rows.count);
  for (let first = 0; first < rows.count; first += batch) {
    const ids = new Int32Array(batch * seq);
    const labels = new Int32Array(batch * seq).fill(IGNORE_INDEX);
    const n = Math.min(batch, rows.count - first);
    ids.set(rows.ids.subarray(first * seq, (first + n) * seq));
    labels.set(rows.labels.subarray(first * seq, (first + n) * seq));
    for (let r = n; r < batch; r++) ids.set(rows.ids.subarray(0, seq), r * seq);
    feedTokens(exec, ids, batch, seq, labels);
    exec.run();
    const logits = (await exec.read('logits')) as Float32Array;
    const vocab = logits.length / (batch * seq);
    const targets = shiftLabels(labels, batch, seq);
    for (let r = 0; r < n; r++) {
      let sum = 0;
      for (let t = 0; t < seq; t++) {
        const target = targets[r * seq + t]!;
        if (target !== IGNORE_INDEX) sum += logSoftmaxAt(logits, (r * seq + t) * vocab, vocab, target);
      }
      scores[first + r] = sum;
    }
  }
  const logProbs = prompts.map((_, p) => Array.from(scores.subarray(p * candidates.length, (p + 1) * candidates.length)));
  const choice = logProbs.map((lp) => lp.reduce((best, v, i) => (v > lp[best]! ? i : best), 0));
  return { choice, logProbs, decisive };
}

function logSoftmaxAt(logits: Float32Array, offset: number, vocab: number, target: number): number {
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) max = Math.max(max, logits[offset + v]!);
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[offset + v]! - max);
  return logits[offset + target]! - max - Math.log(sum);
}
