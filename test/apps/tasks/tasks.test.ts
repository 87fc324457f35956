import { describe, expect, it } from 'vitest';
import { TASKS, extractAnswer, generateBaseCorpus, getTask, DEMO_LOOKUP, NLI_LABELS } from '../../../apps/tasks/index.ts';
import { UserError } from '../../../compiler/errors.ts';
import { queryShape } from '../../../apps/tasks/wikisql.ts';

describe('synthetic tasks', () => {
  for (const name of Object.keys(TASKS)) {
    it(`${name}: deterministic by seed, short, newline-terminated, scored by exact match`, () => {
      const task = getTask(name);
      const a = task.generate(300, 11);
      expect(task.generate(300, 11)).toEqual(a);
      expect(task.generate(300, 12)).not.toEqual(a);
      for (const ex of a) {
        expect(ex.completion.endsWith('\n')).toBe(true);
        expect(ex.completion.slice(0, -1)).not.toContain('\n');
        expect(ex.prompt).not.toContain('\n');
        expect(ex.prompt.length + ex.completion.length).toBeLessThanOrEqual(96);
      }
      const perfect = task.evaluate(a.map((e) => e.completion + 'trailing junk'), a);
      expect(perfect.accuracy).toBe(1);
      const wrong = task.evaluate(a.map(() => 'nonsense\n'), a);
      expect(wrong.accuracy).toBe(0);
      const half = task.evaluate(a.map((e, i) => (i % 2 ? e.completion : 'x')), a);
      expect(half.correct).toBe(150);
      expect(() => task.evaluate([], a)).toThrow();
    });
  }
  it('demo answers are the upper-cased word; reverse reverses; lookup uses the fixed table', () => {
    for (const ex of getTask('demo').generate(50, 1)) {
      const word = ex.prompt.slice('up: '.length, -1);
      expect(ex.completion).toBe(word.toUpperCase() + '\n');
    }
    for (const ex of getTask('demo-reverse').generate(50, 1)) {
      expect([...ex.prompt.slice('rev: '.length, -1)].reverse().join('') + '\n').toBe(ex.completion);
    }
    for (const ex of getTask('demo-lookup').generate(50, 1)) expect(ex.completion).toBe(DEMO_LOOKUP[ex.prompt.slice(6, -1)] + '\n');
  });
  it('wikisql queries name a known table and column', () => {
    for (const ex of getTask('wikisql').generate(100, 2)) expect(ex.completion).toMatch(/^SELECT (\w+|\w+\(\w+\)) FROM (players|cities) WHERE \w+ [=>] \w+\n$/);
  });
  it('nli labels are balanced and reported per label', () => {
    const ex = getTask('nli').generate(300, 3);
    for (const l of NLI_LABELS) expect(ex.filter((e) => e.label === l).length).toBe(100);
    const r = getTask('nli').evaluate(ex.map((e) => (e.label === 'neutral' ? 'neutral' : 'entailment')), ex);
    expect(r.perLabel).toEqual({
      entailment: { correct: 100, total: 100 },
      neutral: { correct: 100, total: 100 },
      contradiction: { correct: 0, total: 100 },
    });
  });
  it('extractAnswer cuts at the first newline and trims', () => {
    expect(extractAnswer(' ABC \nmore')).toBe('ABC');
    expect(extractAnswer('no newline')).toBe('no newline');
  });
  it("wikisql's query shape masks the compared value and nothing else", () => {
    const task = getTask('wikisql');
    const ex = [{ prompt: 'how old is agi? -> ', completion: 'SELECT age FROM players WHERE name = agi\n' }];
    expect(queryShape('SELECT age FROM players WHERE name = agi\n')).toBe('SELECT age FROM players WHERE name = ·');
    expect(queryShape('SELECT name FROM players WHERE age > 30')).toBe('SELECT name FROM players WHERE age > ·');
    expect(task.evaluate(['SELECT age FROM players WHERE name = fib\n'], ex).accuracy).toBe(0);
    expect(task.partial!.evaluate(['SELECT age FROM players WHERE name = fib\n'], ex).accuracy).toBe(1);
    expect(task.partial!.evaluate(['SELECT team FROM players WHERE name = agi\n'], ex).accuracy).toBe(0);
  });

  it('the base corpus is deterministic, long enough and varied', () => {
    const c = generateBaseCorpus({ seed: 1, minChars: 20_000 });
    expect(c).toBe(generateBaseCorpus({ seed: 1, minChars: 20_000 }));
    expect(c.length).toBeGreaterThanOrEqual(20_000);
    expect(c).toMatch(/\d+[+*-]\d+=-?\d+/);
    expect(c).toMatch(/name: \w+; age: \d+/);
    expect(c).toMatch(/[A-Z]{3,}/);
    expect(c.includes('up: ')).toBe(false); // no task leaks into pretraining
    expect(() => getTask('nope')).toThrow(UserError);
  });
});
