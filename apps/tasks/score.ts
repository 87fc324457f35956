// Scoring a model on a synthetic task by what it generates: greedy continuations of each prompt,
// cut at the task's END newline, compared by the task's own metric.
import type { Tokenizer } from '../../runtime/data/tokenizer.ts';
import type { EvalResult, Task, TaskExample } from './types.ts';
import { END } from './types.ts';
import type { Generator } from '../../runtime/generate/generator.ts';

export interface TaskScore extends EvalResult {
  predictions: string[];
}

export async function scoreTask(gen: Generator, tok: Tokenizer, task: Task, examples: TaskExample[], maxNewTokens = 24): Promise<TaskScore> {
  const prompts = examples.map((e) => tok.encode(e.prompt));
  const stop = tok.encode(END)[0];
  const outputs = await gen.generate(prompts, { maxNewTokens, temperature: 0, ...(stop !== undefined ? { stopToken: stop } : {}) });
  const predictions = outputs.map((ids) => tok.decode(ids));
  return { ...task.evaluate(predictions, examples), predictions };
}
