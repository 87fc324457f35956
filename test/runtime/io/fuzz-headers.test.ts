// Seeded fuzzing of what Rankfold reads from files it did not write: safetensors headers (and the
// bytes around them) and PEFT adapter configs. Every mutated input must either parse to something
// valid or be refused with a UserError carrying a message; never a TypeError, RangeError or hang
// (the test's timeout). A fixed seed and count, so a failure reproduces: the message names the case.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../compiler/errors.ts';
import { Rng } from '../../../runtime/data/rng.ts';
import { makePeftConfig, parsePeftConfig, readAdapter, serializePeftConfig, writeAdapter, type Adapter } from '../../../runtime/io/peft.ts';
import { numel, parseSafetensors, serializeSafetensors } from '../../../runtime/io/safetensors.ts';
import { mutate } from '../../compiler/language/fuzz-mutate.ts';

const SEED = 18;
const SAFETENSORS_CASES = 2500;
const CONFIG_CASES = 2000;

/** Values a hostile or corrupt file might hold where a number, string, list or object belongs. */
const ODD: unknown[] = [
  null, true, false, 0, -1, 1, 1.5, -0.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324,
  '', 'x', 'F32', 'f32', 'F32 ', 'toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', '\u0000', '\ud800', 'é'.repeat(50), 'all-linear', '.*',
  [], [0], [-1], [1.5], ['2'], [null], [[1]], [2 ** 53, 2 ** 53], [1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 0], [3, 2], [0, 2 ** 40], new Array(300).fill(2),
  {}, { a: 1 }, { __proto__: null }, { dtype: 'F32' },
];

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

/**
 * Runs `parse`; a UserError whose message names the file (`source`) is an acceptable outcome,
 * anything else thrown is a bug.
 */
function outcome(what: string, source: string, parse: () => void): 'ok' | 'refused' {
  try {
    parse();
    return 'ok';
  } catch (err) {
    if (err instanceof UserError && err.message.startsWith(source)) return 'refused';
    throw new Error(`${what}: threw ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err });
  }
}

function validFile(): Uint8Array {
  return serializeSafetensors(
    {
      'model.w': { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
      'model.b': { shape: [3], data: new Float32Array([0.5, -0.5, 0]) },
      ids: { shape: [2, 2], data: new Int32Array([1, 2, 3, 4]) },
      empty: { shape: [0, 4], data: new Float32Array(0) },
    },
    { format: 'pt' },
  );
}

function splitFile(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>, data: bytes.subarray(8 + n) };
}

function joinFile(headerText: string, data: Uint8Array, length?: bigint): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** One mutated safetensors file: the bytes around the header, the header's JSON, or its values. */
function mutateSafetensors(rng: Rng, good: Uint8Array): Uint8Array {
  const { header, data } = splitFile(good);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const out = structuredClone(header);
  switch (rng.int(11)) {
    case 0: {
      // flip bits in the length prefix or the header
      const b = good.slice();
      for (let k = 0; k <= rng.int(4); k++) b[rng.int(Math.min(b.length, 8 + 200))]! ^= 1 << rng.int(8);
      return b;
    }
    case 1:
      return good.slice(0, rng.int(good.length + 1)); // truncated
    case 2: {
      const lengths = [0n, 1n, 7n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 100_000_001n, BigInt(good.length), BigInt(good.length - 8)];
      return joinFile(JSON.stringify(header), data, pick(rng, lengths));
    }
    case 3: // the header text itself mutated (characters and JSON snippets)
      return joinFile(mutate(JSON.stringify(header), [], () => rng.next()), data);
    case 4: {
      // a field of a tensor entry set to an odd value, or removed
      const entry = out[pick(rng, names)] as Record<string, unknown>;
      const field = pick(rng, ['dtype', 'shape', 'data_offsets', 'extra']);
      if (rng.next() < 0.2) delete entry[field];
      else entry[field] = structuredClone(pick(rng, ODD));
      break;
    }
    case 10: {
      // a shape with the right number of elements but odd dimensions (negative, fractional, zero-sized)
      const entry = out[pick(rng, names)] as { shape: number[] };
      const n = numel(entry.shape);
      entry.shape = pick(rng, [[-n, -1], [-1, -1, n], [n / 2, 2], [n, 1, 1, 1], [0, n], [2 ** 53, n]]);
      break;
    }
    case 5: {
      // offsets that overlap, leave gaps, run past the end or disagree with the shape
      const entry = out[pick(rng, names)] as { data_offsets: number[] };
      const end = data.length;
      entry.data_offsets = pick(rng, [[0, end], [0, end + 4], [end, end], [4, 4 + 24], [0, 2], [end - 4, end + 4], [8, 4]]);
      break;
    }
    case 6:
      // a whole entry replaced; odd names added
      if (rng.next() < 0.5) out[pick(rng, names)] = structuredClone(pick(rng, ODD));
      else out[pick(rng, ['__proto__', 'constructor', '', 'x'.repeat(10_000), 'a\u0000b', 'toString'])] = { dtype: 'F32', shape: [1], data_offsets: [0, 4] };
      break;
    case 7:
      out.__metadata__ = structuredClone(pick(rng, [...ODD, { a: 1 }, { __proto__: 'x' }, { k: ['v'] }, { k: null }]));
      break;
    case 8: {
      // a header that is not an object, or nested very deep
      const depth = pick(rng, [1, 100, 10_000, 200_000]);
      return joinFile(pick(rng, [JSON.stringify(pick(rng, ODD)), '['.repeat(depth) + ']'.repeat(depth), `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`]), data);
    }
    case 9: {
      // duplicated keys: JSON.parse keeps the last one
      const text = JSON.stringify(header);
      const name = pick(rng, names);
      return joinFile(text.slice(0, -1) + `,${JSON.stringify(name)}:${JSON.stringify(out[pick(rng, names)])}}`, data);
    }
  }
  return joinFile(JSON.stringify(out), data);
}

describe('fuzzing safetensors headers', () => {
  it(`${SAFETENSORS_CASES} mutated files: each parses to consistent tensors or is refused with a UserError`, () => {
    const rng = new Rng(SEED);
    const good = validFile();
    const counts = { ok: 0, refused: 0 };
    for (let i = 0; i < SAFETENSORS_CASES; i++) {
      const bytes = mutateSafetensors(rng, good);
      const result = outcome(`safetensors case ${i} (seed ${SEED})`, 'fuzz.safetensors', () => {
        const st = parseSafetensors(bytes, 'fuzz.safetensors');
        for (const name of st.names) {
          const info = st.info(name);
          expect(info.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `shape ${JSON.stringify(info.shape)}`).toBe(true);
          expect(info.byteOffset + info.byteLength).toBeLessThanOrEqual(bytes.length);
          expect(st.raw(name).byteLength).toBe(info.byteLength);
          const t = st.get(name); // may refuse (an integer out of range): a UserError
          expect(t.data.length).toBe(numel(t.shape));
        }
      });
      counts[result]++;
    }
    // The mutations reach both outcomes: the test is not vacuous.
    expect(counts.ok).toBeGreaterThan(SAFETENSORS_CASES / 20);
    expect(counts.refused).toBeGreaterThan(SAFETENSORS_CASES / 2);
  });
});

function validAdapter(): Adapter {
  const t = (shape: number[]) => ({ shape, data: Float32Array.from({ length: numel(shape) }, (_, i) => i / 10) });
  return {
    config: makePeftConfig({ r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'], rank_pattern: { 'layers.0.q_proj': 2 }, alpha_pattern: {} }),
    tensors: new Map([
      ['model.layers.0.q_proj', { kind: 'linear' as const, A: t([2, 4]), B: t([4, 2]) }],
      ['model.layers.0.v_proj', { kind: 'linear' as const, A: t([2, 4]), B: t([6, 2]) }],
    ]),
    others: new Map(),
  };
}

/** A module-name-like key from a safe alphabet: pattern keys are regexes, and backtracking is not this test's subject. */
function safeKey(rng: Rng): string {
  const alphabet = 'abcqv_.0123456789';
  return Array.from({ length: 1 + rng.int(20) }, () => alphabet[rng.int(alphabet.length)]).join('');
}

const CONFIG_FIELDS = ['r', 'lora_alpha', 'lora_dropout', 'target_modules', 'exclude_modules', 'bias', 'use_rslora', 'use_dora', 'fan_in_fan_out', 'rank_pattern', 'alpha_pattern', 'layers_to_transform', 'layers_pattern', 'modules_to_save', 'init_lora_weights', 'peft_type', 'task_type', 'lora_bias', 'inference_mode', 'base_model_name_or_path', 'megatron_config', 'unknown_field'];

function mutateConfig(rng: Rng, text: string): string {
  const c = JSON.parse(text) as Record<string, unknown>;
  switch (rng.int(5)) {
    case 0:
      c[pick(rng, CONFIG_FIELDS)] = structuredClone(pick(rng, ODD));
      break;
    case 1:
      delete c[pick(rng, CONFIG_FIELDS)];
      break;
    case 2:
      c[pick(rng, ['rank_pattern', 'alpha_pattern'])] = { [safeKey(rng)]: pick(rng, ODD) };
      break;
    case 3: // the text mutated: characters, JSON snippets
      return mutate(text, [], () => rng.next());
    case 4:
      c.target_modules = rng.next() < 0.5 ? [safeKey(rng), safeKey(rng)] : safeKey(rng);
      c.r = pick(rng, [1, 2, 3, 2 ** 30]);
      break;
  }
  return JSON.stringify(c);
}

describe('fuzzing adapter configs', () => {
  it(`${CONFIG_CASES} mutated adapter_config.json: each loads as a consistent adapter or is refused with a UserError`, () => {
    const rng = new Rng(SEED + 1);
    const files = writeAdapter(validAdapter());
    const counts = { ok: 0, refused: 0 };
    for (let i = 0; i < CONFIG_CASES; i++) {
      const config = mutateConfig(rng, files.config);
      const result = outcome(`adapter config case ${i} (seed ${SEED + 1}): ${config.slice(0, 300)}`, 'fuzz', () => {
        const parsed = parsePeftConfig(config, 'fuzz/adapter_config.json');
        // What parses must survive a save and a reload unchanged.
        expect(parsePeftConfig(serializePeftConfig(parsed))).toEqual(parsed);
        const ad = readAdapter({ config, weights: files.weights }, 'fuzz');
        for (const w of ad.tensors.values()) expect(w.A.shape[0]).toBe(w.B.shape[1]);
      });
      counts[result]++;
    }
    expect(counts.ok).toBeGreaterThan(CONFIG_CASES / 20);
    expect(counts.refused).toBeGreaterThan(CONFIG_CASES / 5);
  });
});
