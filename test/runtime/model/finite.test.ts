// The NaN/Inf scan of runtime/model/finite.ts: exact index, element and count in the message.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../compiler/errors.ts';
import { firstNonFinite, requireFinite } from '../../../runtime/model/finite.ts';

describe('firstNonFinite / requireFinite', () => {
  it('finds NaN, +Inf and -Inf and nothing else (subnormals, -0 and the largest float are finite)', () => {
    const a = new Float32Array([0, -0, 1e-45, 3.4028234663852886e38, -3.4028234663852886e38]);
    expect(firstNonFinite(a)).toBe(-1);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const b = a.slice();
      b[3] = bad;
      expect(firstNonFinite(b)).toBe(3);
    }
    // A view that starts inside a larger buffer.
    const big = new Float32Array([NaN, 1, 2, Infinity]);
    expect(firstNonFinite(big.subarray(1))).toBe(2);
  });

  it('names the source, the tensor, the first bad value with its element, and how many more', () => {
    const d = new Float32Array(12);
    d[7] = NaN;
    d[9] = Infinity;
    d[11] = -Infinity;
    expect(() => requireFinite(d, 'base.safetensors', 'h.0.attn.c_attn.weight', [3, 4])).toThrow(
      new UserError('base.safetensors: tensor "h.0.attn.c_attn.weight" holds NaN at index 7 (element [1, 3]) and 2 more non-finite values; non-finite weights are refused (a corrupt, overflowed or diverged file)'),
    );
    expect(() => requireFinite(new Float32Array([1, -Infinity]), 'x', 'bias', [2], 'nothing written')).toThrow(new UserError('x: tensor "bias" holds -Infinity at index 1; nothing written'));
    requireFinite(new Float32Array([1, 2]), 'x', 'ok');
  });
});
