// Shared vocabulary for the synthetic tasks and the base corpus, plus a pronounceable-word maker
// so tasks have an unbounded supply of fresh words for held-out evaluation.
import type { Rng } from '../../runtime/data/rng.ts';

export const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'ken', 'lena', 'mike', 'nina', 'omar', 'pia', 'quinn', 'rosa', 'sam', 'tina', 'uma', 'vic', 'wendy', 'yuri'];
export const COLORS = ['red', 'blue', 'green', 'gold', 'gray', 'pink', 'black', 'white'];
export const ADJECTIVES = ['small', 'big', 'old', 'young', 'happy', 'quiet', 'fast', 'slow', 'warm', 'cold'];
export const NOUNS = ['cat', 'dog', 'bird', 'fox', 'horse', 'fish', 'tree', 'house', 'car', 'book', 'river', 'hill', 'boat', 'apple', 'cake'];
export const VERBS = ['sees', 'likes', 'finds', 'has', 'wants', 'makes', 'takes', 'helps', 'knows', 'reads'];
export const PLACES = ['in the park', 'at home', 'in the garden', 'on the beach', 'by the river'];
export const CITIES: [string, string, number][] = [
  ['paris', 'france', 2100], ['lyon', 'france', 520], ['nice', 'france', 340], ['berlin', 'germany', 3600], ['munich', 'germany', 1500],
  ['bonn', 'germany', 330], ['rome', 'italy', 2800], ['milan', 'italy', 1400], ['turin', 'italy', 850], ['madrid', 'spain', 3300],
  ['seville', 'spain', 680], ['lima', 'peru', 9700], ['cusco', 'peru', 430], ['tokyo', 'japan', 14000], ['osaka', 'japan', 2700],
  ['kyoto', 'japan', 1400], ['oslo', 'norway', 700], ['bergen', 'norway', 290],
];
export const WORDS = [
  'apple', 'river', 'stone', 'light', 'house', 'green', 'table', 'water', 'bread', 'chair', 'cloud', 'dream', 'field', 'glass',
  'heart', 'lemon', 'music', 'night', 'ocean', 'paper', 'queen', 'sugar', 'tiger', 'voice', 'whale', 'youth', 'zebra', 'candy',
  'door', 'fish', 'moon', 'star', 'tree', 'bird', 'rain', 'snow', 'wind', 'fire', 'gold', 'king', 'lamp', 'milk', 'nose', 'road',
  'ship', 'song', 'town', 'wolf', 'cat', 'dog', 'sun', 'sea', 'box', 'cup', 'hat', 'pen', 'map', 'key', 'egg', 'ice',
];

const CONSONANTS = 'bcdfghjklmnprstvwz';
const VOWELS = 'aeiou';

/** A pronounceable lowercase word of n letters (consonant-vowel alternation). */
export function makeWord(rng: Rng, n: number): string {
  let w = '';
  const startVowel = rng.int(2) === 0;
  for (let i = 0; i < n; i++) w += (i % 2 === 0) !== startVowel ? CONSONANTS[rng.int(CONSONANTS.length)] : VOWELS[rng.int(VOWELS.length)];
  return w;
}

/** A real word half the time, a made-up one otherwise (so models cannot only memorize). */
export function someWord(rng: Rng, minLen = 3, maxLen = 6): string {
  if (rng.int(2) === 0) {
    const fits = WORDS.filter((w) => w.length >= minLen && w.length <= maxLen);
    return rng.pick(fits);
  }
  return makeWord(rng, rng.range(minLen, maxLen));
}
