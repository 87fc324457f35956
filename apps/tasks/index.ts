// The synthetic tasks that ship with Rankfold, by name.
import { UserError } from '../../compiler/errors.ts';
import { demoTask } from './demo.ts';
import { nliTask } from './nli.ts';
import type { Task } from './types.ts';
import { wikisqlTask } from './wikisql.ts';

export * from './types.ts';
export { generateBaseCorpus } from './base-corpus.ts';
export { demoTask, DEMO_LOOKUP, type DemoVariant } from './demo.ts';
export { wikisqlTask, WIKISQL_SCHEMAS } from './wikisql.ts';
export { nliTask, NLI_LABELS, type NliLabel } from './nli.ts';

export const TASKS: Record<string, () => Task> = {
  demo: () => demoTask('upper'),
  'demo-reverse': () => demoTask('reverse'),
  'demo-lookup': () => demoTask('lookup'),
  wikisql: () => wikisqlTask,
  nli: () => nliTask,
};

export function getTask(name: string): Task {
  const make = TASKS[name];
  if (!make) throw new UserError(`unknown task "${name}" (known: ${Object.keys(TASKS).join(', ')})`);
  return make();
}
