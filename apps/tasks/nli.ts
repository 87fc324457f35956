// A MultiNLI-like task: a premise and a hypothesis from templates over a tiny world (who, doing
// what, where), labelled entailment / neutral / contradiction. Actions and places are mutually
// exclusive in this world, which is what makes the contradictions contradictions. Labels are
// balanced by construction; scored by accuracy, of the most likely label (rank classification) or
// of the generated one.
import { Rng } from '../../runtime/data/rng.ts';
import { END, exactMatch, type Task, type TaskExample } from './types.ts';
import { ADJECTIVES, PLACES } from './words.ts';

export const NLI_LABELS = ['entailment', 'neutral', 'contradiction'] as const;
export type NliLabel = (typeof NLI_LABELS)[number];

const SUBJECTS: [noun: string, kind: string][] = [
  ['cat', 'animal'], ['dog', 'animal'], ['bird', 'animal'], ['horse', 'animal'],
  ['man', 'person'], ['woman', 'person'], ['boy', 'child'], ['girl', 'child'],
];
const ACTIONS = ['sleeping', 'running', 'eating', 'swimming', 'singing'];

/** "a" or "an" before a word. */
function an(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

function other<T>(rng: Rng, items: readonly T[], not: T): T {
  const rest = items.filter((x) => x !== not);
  return rng.pick(rest);
}

function pair(rng: Rng, label: NliLabel): [premise: string, hypothesis: string] {
  const [noun, kind] = rng.pick(SUBJECTS);
  const action = rng.pick(ACTIONS);
  const place = rng.pick(PLACES);
  const withPlace = rng.int(2) === 0;
  const premise = `the ${noun} is ${action}${withPlace ? ' ' + place : ''}.`;
  const choices: string[] = [];
  if (label === 'entailment') {
    choices.push(`${an(kind)} is ${action}.`, `the ${noun} is ${action}.`, `something is ${action}.`);
    if (withPlace) choices.push(`${an(kind)} is ${action} ${place}.`, `the ${noun} is ${place}.`);
  } else if (label === 'contradiction') {
    choices.push(`the ${noun} is ${other(rng, ACTIONS, action)}.`, `the ${noun} is not ${action}.`, `no ${kind} is ${action}.`);
    if (withPlace) choices.push(`the ${noun} is ${other(rng, PLACES, place)}.`);
  } else {
    choices.push(`the ${rng.pick(ADJECTIVES)} ${noun} is ${action}.`, `the ${noun} is ${rng.pick(ADJECTIVES)}.`, `the ${noun} is ${action} with a friend.`);
    if (!withPlace) choices.push(`the ${noun} is ${action} ${place}.`);
  }
  return [premise, rng.pick(choices)];
}

export const nliTask: Task = {
  name: 'nli',
  description: 'MultiNLI-like: premise + hypothesis -> entailment / neutral / contradiction (accuracy)',
  labels: NLI_LABELS,
  generate(count: number, seed: number): TaskExample[] {
    const rng = new Rng(seed);
    const out: TaskExample[] = [];
    let block: number[] = [];
    for (let i = 0; i < count; i++) {
      // Labels in a freshly shuffled order per block of three: balanced, but not predictable by position.
      if (i % 3 === 0) block = rng.permutation(3);
      const label = NLI_LABELS[block[i % 3]!]!;
      const [p, h] = pair(rng, label);
      out.push({ prompt: `p: ${p} h: ${h} -> `, completion: label + END, label });
    }
    return out;
  },
  evaluate: (predictions, examples) => exactMatch(predictions, examples, true),
};
