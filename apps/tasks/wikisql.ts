// A WikiSQL-like task: templated questions over two small tables, answered by a SQL-like query.
// Scored by exact match of the query string (WikiSQL's "logical form accuracy").
import { Rng } from '../../runtime/data/rng.ts';
import { END, exactMatch, extractAnswer, type Task, type TaskExample } from './types.ts';
import { CITIES, COLORS, makeWord, NAMES } from './words.ts';

/** The schemas the questions are about; prompts do not repeat them, the model learns them. */
export const WIKISQL_SCHEMAS = {
  players: ['name', 'team', 'age', 'goals'],
  cities: ['city', 'country', 'population'],
} as const;

type Template = (rng: Rng) => [question: string, sql: string];

const TEAMS = COLORS.slice(0, 5);

/**
 * A player: a known name half the time, a made-up one otherwise. The made-up names make the
 * question space unbounded, so held-out questions exist and the model must copy the name into the
 * query rather than recall a memorized pair.
 */
function player(rng: Rng): string {
  return rng.int(2) === 0 ? rng.pick(NAMES) : makeWord(rng, 3 + rng.int(3));
}
const COUNTRIES = [...new Set(CITIES.map((c) => c[1]))];

const TEMPLATES: Template[] = [
  (rng) => {
    const n = player(rng);
    return [`what team is ${n} on?`, `SELECT team FROM players WHERE name = ${n}`];
  },
  (rng) => {
    const n = player(rng);
    return [`how old is ${n}?`, `SELECT age FROM players WHERE name = ${n}`];
  },
  (rng) => {
    const n = player(rng);
    return [`how many goals has ${n}?`, `SELECT goals FROM players WHERE name = ${n}`];
  },
  (rng) => {
    const t = rng.pick(TEAMS);
    return [`how many players are on ${t}?`, `SELECT COUNT(name) FROM players WHERE team = ${t}`];
  },
  (rng) => {
    const g = rng.range(0, 30);
    return [`who scored ${g} goals?`, `SELECT name FROM players WHERE goals = ${g}`];
  },
  (rng) => {
    const a = rng.range(18, 35);
    return [`who is older than ${a}?`, `SELECT name FROM players WHERE age > ${a}`];
  },
  (rng) => {
    const t = rng.pick(TEAMS);
    return [`most goals on ${t}?`, `SELECT MAX(goals) FROM players WHERE team = ${t}`];
  },
  (rng) => {
    const c = rng.pick(CITIES)[0];
    return [`what country is ${c} in?`, `SELECT country FROM cities WHERE city = ${c}`];
  },
  (rng) => {
    const c = rng.pick(COUNTRIES);
    return [`which cities are in ${c}?`, `SELECT city FROM cities WHERE country = ${c}`];
  },
  (rng) => {
    const c = rng.pick(COUNTRIES);
    return [`largest population in ${c}?`, `SELECT MAX(population) FROM cities WHERE country = ${c}`];
  },
  (rng) => {
    const c = rng.pick(CITIES)[0];
    return [`population of ${c}?`, `SELECT population FROM cities WHERE city = ${c}`];
  },
];

/** The query with the value of its comparison masked: "... WHERE name = ·". */
export function queryShape(text: string): string {
  return extractAnswer(text).replace(/ (=|>) \S+$/, ' $1 ·');
}

export const wikisqlTask: Task = {
  name: 'wikisql',
  description: 'WikiSQL-like: a question about the players/cities tables -> a SQL-like query (exact match)',
  generate(count: number, seed: number): TaskExample[] {
    const rng = new Rng(seed);
    return Array.from({ length: count }, () => {
      const [question, sql] = rng.pick(TEMPLATES)(rng);
      return { prompt: `${question} -> `, completion: sql + END };
    });
  },
  evaluate: (predictions, examples) => exactMatch(predictions, examples),
  partial: {
    name: 'query shape',
    explains: 'the query with its compared value masked: held-out questions name players the model never saw, and at this scale it does not copy an unseen name into the query',
    evaluate: (predictions, examples) => exactMatch(predictions.map(queryShape), examples.map((e) => ({ ...e, completion: queryShape(e.completion) }))),
  },
};
