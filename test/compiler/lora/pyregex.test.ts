// The bounded-time Python `re` engine behind PEFT's target_modules & co. Expected values are
// Python 3's (checked against CPython's re while writing this engine; there is no Python in CI).
import { describe, expect, it } from 'vitest';
import { compilePyRegex, pyEscape, PyRegexError, MAX_PROGRAM_SIZE } from '../../../compiler/lora/pyregex.ts';
import { isTargetModule, layerIndex, makePeftConfig, parsePeftConfig, resolveRankAlpha } from '../../../compiler/lora/index.ts';

const full = (p: string, s: string) => compilePyRegex(p).fullmatch(s);
const match = (p: string, s: string) => compilePyRegex(p).match(s);

describe('Python re semantics', () => {
  it('fullmatch and match, greedy and lazy groups as re picks them', () => {
    expect(full('.*\\.(q|v)_proj', 'model.layers.0.self_attn.q_proj')).toBe(true);
    expect(full('q_proj', 'model.layers.0.self_attn.q_proj')).toBe(false);
    expect(match('q', 'q_proj')).toEqual(['q']);
    // PEFT's layer-index regex takes the first numeric segment (lazy .*?).
    expect(match('.*?\\.[^.]*\\.(\\d+)\\.', 'model.layers.12.blocks.3.attn')).toEqual(['model.layers.12.', '12']);
    expect(match('.*\\.[^.]*\\.(\\d+)\\.', 'model.layers.12.blocks.3.attn')).toEqual(['model.layers.12.blocks.3.', '3']);
    expect(match('(a|ab)(c|bcd)(d*)', 'abcd')).toEqual(['abcd', 'a', 'bcd', '']);
    expect(match('(a+?)(a*)', 'aaa')).toEqual(['aaa', 'a', 'aa']);
    expect(match('x(y)?', 'x')).toEqual(['x', undefined]);
    expect(match('(?P<n>\\w+)\\.(\\d{2,3})', 'h.1234')).toEqual(['h.123', 'h', '123']);
  });
  it('anchors, classes and escapes', () => {
    expect(full('a$', 'a')).toBe(true);
    expect(match('a$', 'a\n')).toEqual(['a']); // $ also matches before a final newline
    expect(full('a\\Z', 'a\n')).toBe(false);
    expect(full('(^|.*\\.)lm_head($|\\..*)', 'base.lm_head')).toBe(true);
    expect(match('(^|.*\\.)head($|\\..*)', 'lm_head')).toBeNull();
    expect(full('[^.]+', 'ab_c')).toBe(true);
    expect(full('[a\\d-]+', '1-a')).toBe(true);
    expect(full('[]a]+', ']a')).toBe(true);
    expect(full('\\bq\\b.*', 'q.proj')).toBe(true);
    expect(full('a{,2}', 'aa')).toBe(true);
    expect(full('a{}', 'a{}')).toBe(true); // not a quantifier: literal braces
    expect(full('\\x41\\u0042', 'AB')).toBe(true);
    expect(full('(?:ab)+(?#comment)', 'abab')).toBe(true);
  });
  it('errors as re reports them, and refuses what needs backtracking', () => {
    const err = (p: string) => {
      try {
        compilePyRegex(p);
      } catch (e) {
        expect(e).toBeInstanceOf(PyRegexError);
        return (e as Error).message;
      }
      return 'compiled';
    };
    expect(err('model\\.(attn')).toBe('missing ), unterminated subpattern at position 7');
    expect(err('*a')).toBe('nothing to repeat at position 0');
    expect(err('a**')).toBe('multiple repeat at position 2');
    expect(err('a)')).toBe('unbalanced parenthesis at position 1');
    expect(err('x{2,1}')).toBe('min repeat greater than max repeat at position 2');
    expect(err('\\q')).toBe('bad escape \\q at position 0');
    expect(err('[a')).toBe('unterminated character set at position 0');
    expect(err('[\\d-z]')).toBe('bad character range \\d-z at position 1');
    expect(err('(a)\\1')).toMatch(/backreferences are not supported/);
    expect(err('(?=a)')).toMatch(/lookahead and lookbehind are not supported/);
    expect(err('(?>a)')).toMatch(/atomic groups/);
    expect(err('a*+')).toMatch(/possessive/);
    expect(err('(?i)a')).toMatch(/inline flags/);
    expect(err('(a{1000}){1000}')).toMatch(new RegExp(`too complex \\(over ${MAX_PROGRAM_SIZE}`));
    expect(err('a'.repeat(5000))).toMatch(/too long/);
  });
  it('re.escape', () => {
    expect(pyEscape('model.layers.0.q_proj')).toBe('model\\.layers\\.0\\.q_proj');
    expect(full(pyEscape('a.b(c)'), 'a.b(c)')).toBe(true);
    expect(full(pyEscape('a.b'), 'axb')).toBe(false);
  });
});

describe('bounded time on hostile patterns (issue 18)', () => {
  // A backtracking engine (JavaScript's RegExp, Python's re) takes 2^n steps on these.
  const name = 'a'.repeat(20000) + '!';
  it('(a+)+$ on a long name', () => {
    expect(full('(a+)+$', name)).toBe(false);
    expect(match('(a+)+$', name)).toBeNull();
    expect(full('(a|aa)*b', 'a'.repeat(5000))).toBe(false);
    expect(full('(a*)*b', 'a'.repeat(5000))).toBe(false);
  });
  it('in every place an adapter config puts a pattern', () => {
    const config = parsePeftConfig(
      JSON.stringify({
        peft_type: 'LORA',
        target_modules: '(a+)+$',
        exclude_modules: '(x+x+)+y',
        rank_pattern: { '(a+)+$': 4 },
        alpha_pattern: { '(a|aa)+$': 2 },
        modules_to_save: ['(a+)+b'],
      }),
      'hostile.json',
    );
    expect(isTargetModule(name, config)).toBe(false);
    expect(isTargetModule('x'.repeat(20000), config)).toBe(false);
    expect(resolveRankAlpha(name, config)).toEqual({ r: 8, alpha: 8 });
    const layers = makePeftConfig({ target_modules: ['q'], layers_to_transform: [1], layers_pattern: '(?:a+)+' });
    expect(layerIndex(`m.${'a'.repeat(20000)}.1.q`, layers.layers_pattern)).toBe(1);
  });
  it('refuses an unusable pattern when the config is read, naming the field', () => {
    expect(() => parsePeftConfig('{"peft_type": "LORA", "target_modules": "(a)\\\\1"}', 'cfg')).toThrow(/cfg: target_modules is not a usable regular expression: backreferences/);
    expect(() => parsePeftConfig('{"peft_type": "LORA", "rank_pattern": {"(?=q)": 2}}', 'cfg')).toThrow(/rank_pattern key "\(\?=q\)"/);
    // PEFT reads the layer index from group 1, which a group of the pattern's own would take.
    expect(() => makePeftConfig({ target_modules: ['q'], layers_to_transform: [1], layers_pattern: '(h|layers)' })).toThrow(/layers_pattern "\(h\|layers\)" has a capturing group/);
  });
});
