import { describe, expect, it } from 'vitest';
import { StopStrings } from '../../../runtime/serve/stop-strings.ts';

/** Feeds pieces; returns what was released in total and whether it stopped. */
function feed(stops: string[], pieces: string[]): { out: string[]; hit: boolean; rest: string } {
  const s = new StopStrings(stops);
  const out = pieces.map((p) => s.push(p));
  return { out, hit: s.hit, rest: s.flush() };
}

describe('stop strings', () => {
  it('ends before the first stop string, which is not returned, even split over pieces', () => {
    expect(feed(['\n\n'], ['Hello', ' world\n', '\nmore'])).toEqual({ out: ['Hello', ' world', ''], hit: true, rest: '' });
    expect(feed(['END', 'x'], ['abxENDc'])).toEqual({ out: ['ab'], hit: true, rest: '' });
  });
  it('holds back only a tail that could start a stop string, and releases it when it does not', () => {
    expect(feed(['STOP'], ['ab ST', 'O', 'x'])).toEqual({ out: ['ab ', '', 'STOx'], hit: false, rest: '' });
    expect(feed(['STOP'], ['abc ST'])).toEqual({ out: ['abc '], hit: false, rest: 'ST' });
    expect(feed([], ['a', 'b'])).toEqual({ out: ['a', 'b'], hit: false, rest: '' });
  });
  it('releases nothing after a stop', () => {
    const s = new StopStrings(['.']);
    expect(s.push('a.b')).toBe('a');
    expect(s.push('more')).toBe('');
    expect(s.flush()).toBe('');
  });
});
