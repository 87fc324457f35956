// The demo adaptation task: a tiny char GPT pretrained on the base corpus learns it with a LoRA in
// a few hundred CPU steps. "upper" maps a lowercase word to upper case (a per-character copy with a
// fixed shift, so attention only has to copy the aligned character); "reverse" is harder; "lookup"
// memorizes a small name -> country table (no generalization to unseen keys by design).
import { Rng } from '../../runtime/data/rng.ts';
import { END, exactMatch, type Task, type TaskExample } from './types.ts';
import { NAMES, someWord } from './words.ts';

export type DemoVariant = 'upper' | 'reverse' | 'lookup';

const COUNTRIES = ['france', 'japan', 'peru', 'italy', 'norway', 'spain', 'egypt', 'chile', 'kenya', 'india', 'nepal', 'cuba'];

/** The fixed lookup table: each name gets a country from a hash of the name, stable across seeds. */
export const DEMO_LOOKUP: Record<string, string> = Object.fromEntries(
  NAMES.map((n) => [n, COUNTRIES[[...n].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 9973, 7) % COUNTRIES.length]!]),
);

export function demoTask(variant: DemoVariant = 'upper'): Task {
  const prefix = { upper: 'up', reverse: 'rev', lookup: 'from' }[variant];
  return {
    name: variant === 'upper' ? 'demo' : `demo-${variant}`,
    description: {
      upper: 'map a lowercase word to upper case: "up: river=" -> "RIVER"',
      reverse: 'reverse a word: "rev: river=" -> "revir"',
      lookup: 'name -> country lookup over a fixed table: "from: alice=" -> a country',
    }[variant],
    generate(count: number, seed: number): TaskExample[] {
      const rng = new Rng(seed);
      return Array.from({ length: count }, () => {
        const word = variant === 'lookup' ? rng.pick(NAMES) : someWord(rng, 3, 7);
        const answer = variant === 'upper' ? word.toUpperCase() : variant === 'reverse' ? [...word].reverse().join('') : DEMO_LOOKUP[word]!;
        return { prompt: `${prefix}: ${word}=`, completion: answer + END };
      });
    },
    evaluate: (predictions, examples) => exactMatch(predictions, examples),
  };
}
