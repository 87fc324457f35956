// The language pieces the Hugging Face specs need: optional (T?) and list (T[]) parameters and how
// JSON binds them, indexing, the scalar functions sqrt/select/len/rope, tensor * number, slice,
// rmsnorm's offset, attention windows, and the config block's refuse / ignore lines with the
// unread-key report.
import { describe, expect, it } from 'vitest';
import { checkSpec, type CheckedModel } from '../../../compiler/check/index.ts';
import { errors, tiny } from './helpers.ts';

const ok = (text: string, opts = {}): CheckedModel => {
  const r = checkSpec(text, 't.rf', opts);
  expect(r.diagnostics).toEqual([]);
  return r.model!;
};
const attn = (m: CheckedModel) => m.ops.filter((o) => o.op === 'attention') as Extract<CheckedModel['ops'][number], { op: 'attention' }>[];

describe('optional and list parameters', () => {
  const spec = (body = '  output x') =>
    tiny(body, 'd: int = 8, w: int? = 4, names: string[]? = none, fs: float[] = 0').replace('{\n', '{\n  config { w = "sliding_window"; names = "layer_types"; fs = "factors" }\n');
  it('JSON null binds an optional parameter to none; a missing key takes the default; arrays bind lists', () => {
    const m = ok(spec(), { config: { sliding_window: null, layer_types: ['a', 'b'], factors: [1, 2.5] } });
    expect(m.params['w']).toBeUndefined(); // none is not a scalar value
    expect(ok(spec(), { config: { factors: [1] } }).params['w']).toBe(4);
    // An array into a scalar parameter, or a list of the wrong item type, names the key.
    expect(errors(spec(), { config: { factors: ['x'] } })).toEqual(["2:62 E0406 config key 'factors' is an array, but parameter 'fs' is float[]"]);
    expect(errors(spec(), { config: { sliding_window: [3], factors: [1] } })[0]).toMatch(/config key 'sliding_window' is an array, but parameter 'w' is int\?/);
  });

  it('select is lazy, so an unset list is never indexed; indexing past the end is E0404', () => {
    const body = (i: number) => `  y = attention(x, x, x, heads = 2, window = select(names == none, w, select(names[${i}] == "s", 2, none)))\n  output y`;
    expect(attn(ok(spec(body(0)), { config: { factors: [1] } }))[0]!.window).toBe(4);
    expect(attn(ok(spec(body(0)), { config: { factors: [1], layer_types: ['s'] } }))[0]!.window).toBe(2);
    expect(attn(ok(spec(body(0)), { config: { factors: [1], layer_types: ['f'] } }))[0]!.window).toBeNull();
    expect(errors(spec(body(3)), { config: { factors: [1], layer_types: ['s'] } })).toEqual(["5:84 E0404 index 3 is outside 'names' (1 items)"]);
  });

  it('defaults may use the scalar functions', () => {
    const m = ok(tiny('  output x', 'd: int = 8, s: float = sqrt(d * 2), k: int = select(d > 4, 2, 1)'));
    expect(m.params).toMatchObject({ s: 4, k: 2 });
    expect(errors(tiny('  output x', 'd: int = 8, s: float = sqrt(0 - d)'))).toEqual(['1:37 E0404 sqrt of a negative number (-8)']);
  });
});

describe('layers for the Hugging Face specs', () => {
  it('tensor * number is a scale op; slice takes features; rmsnorm takes an offset', () => {
    const m = ok(tiny('  y = x * sqrt(d)\n  z = slice(y, 2, 6)\n  n = rmsnorm(z, 1e-6, offset = 1.0) as "n"\n  output n'));
    expect(m.ops.find((o) => o.op === 'scale')).toMatchObject({ c: Math.sqrt(8) });
    expect(m.ops.find((o) => o.op === 'slice')).toMatchObject({ start: 2, end: 6 });
    expect(m.ops.find((o) => o.op === 'rmsnorm')).toMatchObject({ offset: 1 });
    expect(errors(tiny('  z = slice(x, 6, 9)\n  output z'))).toEqual(["4:16 E0501 cannot slice features [6, 9) of 'x' [B, T, 8]: need 0 <= start < end <= 8"]);
  });

  it('attention windows need causal attention; rope(...) values carry transformers settings', () => {
    expect(errors(tiny('  y = attention(x, x, x, heads = 2, causal = false, window = 3)\n  output y'))).toEqual(['4:62 E0502 a sliding window needs causal attention']);
    const m = ok(tiny('  r = rope(theta = 1e4, type = "linear", factor = 2.0)\n  y = attention(x, x, x, heads = 2, rope = r)\n  output y'));
    expect(attn(m)[0]!.rope).toEqual({ type: 'linear', theta: 1e4, dim: 4, factor: 2 });
    expect(errors(tiny('  y = attention(x, x, x, heads = 2, rope = rope(theta = 1e4, type = "ntk"))\n  output y'))[0])
      .toMatch(/^4:69 E0404 RoPE type 'ntk' \(rope_type\) is not supported; supported: default, linear, dynamic, yarn, llama3, longrope$/);
    expect(errors(tiny('  y = attention(x, x, x, heads = 2, rope = rope(theta = 1e4, type = "linear"))\n  output y'))[0])
      .toMatch(/RoPE type 'linear' needs factor \(in rope_scaling \/ rope_parameters\)/);
    // head_dim 4: partial_rotary_factor 0.5 rotates 2 features; 0.25 would rotate 1, which cannot pair.
    expect(attn(ok(tiny('  y = attention(x, x, x, heads = 2, rope = rope(theta = 1e4, partial_rotary_factor = 0.5))\n  output y')))[0]!.rope!.dim).toBe(2);
    expect(errors(tiny('  y = attention(x, x, x, heads = 2, rope = rope(theta = 1e4, partial_rotary_factor = 0.25))\n  output y'))[0])
      .toMatch(/E0502 RoPE needs an even rotary dimension, not partial_rotary_factor 0.25 of head_dim 4 \(1 features\)/);
  });
});

describe('config refuse and ignore', () => {
  const spec = tiny('  output x', 'd: int = 8').replace('{\n', '{\n  config { d = "hidden_size"; refuse "softcap", "nested.k"; refuse "bias" unless false; refuse "act" unless "silu" | "swish"; ignore "use_cache", "rope.extra" }\n');
  it('refused fields are E0408 unless absent, null or an allowed value, naming the key and the value', () => {
    expect(ok(spec, { config: { softcap: null, bias: false, act: 'swish', use_cache: true } }).unreadConfigKeys).toEqual([]);
    expect(errors(spec, { config: { softcap: 30.5, nested: { k: [1] }, bias: true, act: 'gelu' } })).toEqual([
      "2:38 E0408 config field 'softcap' is 30.5 (float), which 'm' does not support (it must be absent or null)",
      "2:49 E0408 config field 'nested.k' is an array, which 'm' does not support (it must be absent or null)",
      "2:68 E0408 config field 'bias' is true (boolean), which 'm' does not support (it must be absent, null or false)",
      "2:96 E0408 config field 'act' is 'gelu' (string), which 'm' does not support (it must be absent, null or 'silu' or 'swish')",
    ]);
  });

  it('keys the spec does not mention are listed as unread (inside objects it reads from too)', () => {
    const m = ok(spec, { config: { hidden_size: 8, surprise: 1, rope: { extra: 1, other: 2 }, nested: { k: null, j: 1 }, softcap: null } });
    expect(m.unreadConfigKeys).toEqual(['nested.j', 'rope.other', 'surprise']);
    // Without a config there is nothing to report.
    expect(ok(spec).unreadConfigKeys).toBeUndefined();
  });

  it("'unless' takes constants", () => {
    expect(errors(tiny('  output x', 'd: int = 8').replace('{\n', '{\n  config { refuse "a" unless d }\n'), { config: { a: 1 } }))
      .toEqual(["2:30 E0401 'unless' takes constant values, not the name 'd'"]);
  });
});
