// The pretraining corpus for the tiny char-level model: short lines of several kinds that teach
// structure a later LoRA task can build on (words and spelling, upper and lower case, digits and
// arithmetic, "key: value" records, lists, the " -> " and "=" separators the tasks use) without
// containing any task itself. Like the English a real base model has read, it uses the words the
// tasks answer with (entailment, contradiction, select, where, ...) and sentences with negation and
// vague subjects, but never a task's prompt format or a (question, answer) pair: an adapter then
// learns the task's mapping, not the spelling of words its base has never seen.
import { Rng } from '../../runtime/data/rng.ts';
import { ADJECTIVES, CITIES, COLORS, NAMES, NOUNS, PLACES, VERBS, someWord } from './words.ts';

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Longer words of the tasks' answers and of talk about statements and tables. */
export const TERMS = [
  'entailment', 'neutral', 'contradiction', 'statement', 'premise', 'hypothesis', 'something', 'nothing', 'animal', 'person',
  'child', 'friend', 'select', 'where', 'count', 'maximum', 'population', 'country', 'players', 'cities', 'goals', 'team',
];

const ACTIONS = ['sleeping', 'running', 'eating', 'singing', 'swimming'];

function sentence(rng: Rng): string {
  const np = () => `${rng.pick(['the', 'a', 'one', 'my'])} ${rng.int(2) ? rng.pick(ADJECTIVES) + ' ' : ''}${rng.pick(NOUNS)}`;
  const kind = rng.int(7);
  if (kind === 0) return `${cap(rng.pick(NAMES))} ${rng.pick(VERBS)} ${np()}.`;
  if (kind === 1) return `${cap(np())} is ${rng.pick(ACTIONS)} ${rng.pick(PLACES)}.`;
  if (kind === 4) return `${cap(np())} is not ${rng.pick(ACTIONS)}${rng.int(2) ? ' ' + rng.pick(PLACES) : ''}.`;
  if (kind === 5) return `${rng.pick(['Something', 'Nothing', 'No animal', 'No person', 'A child'])} is ${rng.pick(ACTIONS)}${rng.int(2) ? ' with a friend' : ''}.`;
  if (kind === 6) return `${cap(rng.pick(TERMS))} and ${rng.pick(TERMS)} are words; so is ${rng.pick(TERMS)}.`;
  if (kind === 2) return `${cap(np())} ${rng.pick(VERBS)} ${np()} ${rng.pick(PLACES)}.`;
  return `${cap(rng.pick(NAMES))} and ${cap(rng.pick(NAMES))} ${rng.pick(['walk', 'talk', 'read', 'play'])} ${rng.pick(PLACES)}.`;
}

function arithmetic(rng: Rng): string {
  const a = rng.int(50);
  const b = rng.int(50);
  const op = rng.pick(['+', '-', '*']);
  const v = op === '+' ? a + b : op === '-' ? a - b : (a % 13) * (b % 13);
  return op === '*' ? `${a % 13}*${b % 13}=${v}` : `${a}${op}${b}=${v}`;
}

function list(rng: Rng): string {
  const kind = rng.int(4);
  if (kind === 0) return `colors: ${rng.shuffle([...COLORS]).slice(0, rng.range(2, 5)).join(', ')}`;
  if (kind === 1) {
    const start = rng.int(20);
    return `count: ${Array.from({ length: rng.range(3, 7) }, (_, i) => start + i).join(' ')}`;
  }
  if (kind === 2) {
    const s = rng.int(20);
    return `letters: ${Array.from({ length: rng.range(3, 7) }, (_, i) => String.fromCharCode(97 + s + i)).join(' ')}`;
  }
  return `words: ${Array.from({ length: rng.range(2, 4) }, () => someWord(rng)).join(', ')}`;
}

function record(rng: Rng): string {
  if (rng.int(2)) return `name: ${rng.pick(NAMES)}; age: ${rng.range(18, 70)}; color: ${rng.pick(COLORS)}`;
  const [city, country, pop] = rng.pick(CITIES);
  return `city: ${city}; country: ${country}; population: ${pop}`;
}

/** Upper-case text so the model has seen capital letters, in plain prose (not as a mapping task). */
function shout(rng: Rng): string {
  return sentence(rng).toUpperCase();
}

function spelling(rng: Rng): string {
  const w = rng.int(3) === 0 ? rng.pick(TERMS) : someWord(rng, 3, 7);
  return `${w} is spelled ${w.split('').join('-')}`;
}

/** Lines of mixed kinds, joined with '\n', until at least minChars characters. */
export function generateBaseCorpus(opts: { seed: number; minChars?: number }): string {
  const rng = new Rng(opts.seed);
  const target = opts.minChars ?? 200_000;
  const makers = [sentence, sentence, sentence, arithmetic, arithmetic, list, record, record, shout, spelling];
  const lines: string[] = [];
  let n = 0;
  while (n < target) {
    const line = rng.pick(makers)(rng);
    lines.push(line);
    n += line.length + 1;
  }
  return lines.join('\n') + '\n';
}
