// Held-out evaluation is bounded: evenlySpacedRows keeps at most N rows spread over the whole set.
import { describe, expect, it } from 'vitest';
import { evenlySpacedRows } from '../../../runtime/data/loader.ts';
import type { Rows } from '../../../runtime/data/dataset.ts';

function rows(count: number, seqLen = 2): Rows {
  const ids = Int32Array.from({ length: count * seqLen }, (_, i) => Math.floor(i / seqLen));
  return { count, seqLen, ids, labels: ids.map((v) => v + 1000) };
}

describe('evenlySpacedRows', () => {
  it('returns the set itself when it is small enough', () => {
    const r = rows(5);
    expect(evenlySpacedRows(r, 5)).toBe(r);
    expect(evenlySpacedRows(r, 256)).toBe(r);
  });

  it('picks rows spread over the whole set, ids and labels together', () => {
    const r = evenlySpacedRows(rows(156_250), 4);
    expect(r.count).toBe(4);
    expect(Array.from(r.ids)).toEqual([0, 0, 39062, 39062, 78125, 78125, 117187, 117187]);
    expect(Array.from(r.labels)).toEqual(Array.from(r.ids).map((v) => v + 1000));
  });
});
