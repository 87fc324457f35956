// What every synthetic task provides. Tasks are generated, not downloaded: deterministic by seed,
// short strings (a char-level model with a 64-128 context), answers that end at a newline.

export interface TaskExample {
  prompt: string;
  /** The answer followed by END; the loss is taken on these tokens only. */
  completion: string;
  /** A class label, for tasks that have one (NLI). */
  label?: string;
}

export interface EvalResult {
  correct: number;
  total: number;
  accuracy: number;
  /** Per-class counts, for classification tasks. */
  perLabel?: Record<string, { correct: number; total: number }>;
}

export interface Task {
  readonly name: string;
  readonly description: string;
  /** count examples from the seed; the same (count, seed) always gives the same list. */
  generate(count: number, seed: number): TaskExample[];
  /**
   * For classification tasks, the label set: a model is then scored by rank classification (the
   * most likely `label + END` after the prompt, runtime/generate/classify.ts) as well as by what it
   * generates.
   */
  readonly labels?: readonly string[];
  /** Scores generated continuations (the text after each prompt) against the examples. */
  evaluate(predictions: readonly string[], examples: readonly TaskExample[]): EvalResult;
  /**
   * A looser score reported beside the main one, for what exact match cannot tell apart (wikisql:
   * the query with its compared value masked, so a right query with a misspelt name counts).
   */
  readonly partial?: {
    readonly name: string;
    /** What the looser score keeps, and why the main score can sit at chance while it does not. */
    readonly explains?: string;
    evaluate(predictions: readonly string[], examples: readonly TaskExample[]): EvalResult;
  };
}

/** Ends every answer: generation can stop at the first newline. */
export const END = '\n';

/** The answer in a generated continuation: the text before the first newline, trimmed. */
export function extractAnswer(generated: string): string {
  const cut = generated.indexOf(END);
  return (cut < 0 ? generated : generated.slice(0, cut)).trim();
}

/** Exact-match scoring shared by the tasks (answers compared after extractAnswer). */
export function exactMatch(predictions: readonly string[], examples: readonly TaskExample[], byLabel = false): EvalResult {
  if (predictions.length !== examples.length) {
    throw new Error(`evaluate: ${predictions.length} predictions for ${examples.length} examples`);
  }
  let correct = 0;
  const perLabel: Record<string, { correct: number; total: number }> = {};
  examples.forEach((ex, i) => {
    const ok = extractAnswer(predictions[i]!) === extractAnswer(ex.completion);
    if (ok) correct++;
    if (byLabel && ex.label !== undefined) {
      const slot = (perLabel[ex.label] ??= { correct: 0, total: 0 });
      slot.total++;
      if (ok) slot.correct++;
    }
  });
  const total = examples.length;
  return { correct, total, accuracy: total === 0 ? 0 : correct / total, ...(byLabel ? { perLabel } : {}) };
}
