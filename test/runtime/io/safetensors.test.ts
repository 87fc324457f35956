import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../../compiler/errors.ts';
import { parseSafetensors, serializeSafetensors } from '../../../runtime/io/safetensors.ts';
import { CONFORMANCE_CASES as CASES, CONFORMANCE_DIR as conformanceDir } from '../../helpers/conformance.ts';

/** Builds a file from a header object and a data region, with no validation (to make corrupt ones). */
function rawFile(header: unknown, data: Uint8Array, headerText?: string): Uint8Array {
  const h = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function expectUserError(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(UserError);
  for (const p of parts) expect((caught as Error).message).toMatch(p);
}

describe('safetensors', () => {
  it('round-trips F32 and I32 tensors with metadata, sorted and 8-byte aligned', () => {
    const a = new Float32Array([1.5, -2, 3.25, 0, 1e-8, -1e30]);
    const ids = new Int32Array([7, -3, 2147483647]);
    const bytes = serializeSafetensors({ 'z.weight': { shape: [2, 3], data: a }, ids: { shape: [3], data: ids }, 'a.bias': { shape: [0], data: new Float32Array(0) } }, { format: 'pt' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0);
    const f = parseSafetensors(bytes, 'mem.safetensors');
    expect(f.metadata).toEqual({ format: 'pt' });
    expect(f.names).toContain('z.weight');
    expect(f.has('ids')).toBe(true);
    expect(f.has('nope')).toBe(false);
    expect(f.get('z.weight')).toEqual({ dtype: 'F32', shape: [2, 3], data: a });
    expect(f.get('ids')).toEqual({ dtype: 'I32', shape: [3], data: ids });
    expect(f.getFloat32('a.bias').length).toBe(0);
    expect(f.raw('ids').byteLength).toBe(12);
    // F32 before I32, then by name, in the header's order.
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLen));
    expect(header.indexOf('a.bias')).toBeLessThan(header.indexOf('z.weight'));
    expect(header.indexOf('z.weight')).toBeLessThan(header.indexOf('"ids"'));
    expect(header.endsWith(' ') || header.endsWith('}')).toBe(true);
    expectUserError(() => f.get('missing'), 'mem.safetensors', 'missing');
    expectUserError(() => f.getInt32('z.weight'), 'expected an integer tensor');
  });

  it('decodes F16 and BF16 into Float32Array', () => {
    // f16: 1, -2, 0.5, 65504 (max), +inf, 2^-24 (smallest subnormal), -0
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0x0001, 0x8000]);
    // bf16: 1, -2, 3.140625, 1e38-ish
    const bf16 = new Uint16Array([0x3f80, 0xc000, 0x4049, 0x7e96]);
    const data = new Uint8Array(f16.byteLength + bf16.byteLength);
    data.set(new Uint8Array(f16.buffer), 0);
    data.set(new Uint8Array(bf16.buffer), f16.byteLength);
    const file = rawFile(
      {
        h: { dtype: 'F16', shape: [7], data_offsets: [0, 14] },
        b: { dtype: 'BF16', shape: [2, 2], data_offsets: [14, 22] },
      },
      data,
    );
    const f = parseSafetensors(file);
    expect(Array.from(f.getFloat32('h'))).toEqual([1, -2, 0.5, 65504, Infinity, 2 ** -24, -0]);
    const b = f.getFloat32('b');
    expect(Array.from(b.subarray(0, 3))).toEqual([1, -2, 3.140625]);
    expect(b[3]).toBeCloseTo(9.98e37, -36);
    expect(f.get('b').shape).toEqual([2, 2]);
  });

  it('reads I64 into Int32Array and refuses values out of int32 range', () => {
    const ok = new BigInt64Array([0n, -1n, 2147483647n, -2147483648n]);
    const f = parseSafetensors(rawFile({ t: { dtype: 'I64', shape: [4], data_offsets: [0, 32] } }, new Uint8Array(ok.buffer)));
    expect(Array.from(f.getInt32('t'))).toEqual([0, -1, 2147483647, -2147483648]);
    const big = new BigInt64Array([1n, 2147483648n]);
    const g = parseSafetensors(rawFile({ t: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(big.buffer)), 'ids.safetensors');
    expectUserError(() => g.get('t'), 'ids.safetensors', '"t"', 'element 1', 'int32');
  });

  describe('corrupt files give a UserError naming the file and tensor', () => {
    const data = new Uint8Array(16);
    it('too short', () => expectUserError(() => parseSafetensors(new Uint8Array(3), 'x.st'), 'x.st', 'shorter than'));
    it('header length past the end', () => {
      const f = rawFile({}, new Uint8Array(0));
      new DataView(f.buffer).setBigUint64(0, 1000n, true);
      expectUserError(() => parseSafetensors(f, 'x.st'), 'x.st', 'runs past the end', 'truncated');
    });
    it('huge header length', () => {
      const f = new Uint8Array(16);
      new DataView(f.buffer).setBigUint64(0, 0xffffffffffffn, true);
      expectUserError(() => parseSafetensors(f, 'x.st'), 'exceeds');
    });
    it('non-JSON header', () => expectUserError(() => parseSafetensors(rawFile(null, data, '{"a": [1, 2'), 'x.st'), 'x.st', 'not JSON'));
    it('JSON that is not an object', () => expectUserError(() => parseSafetensors(rawFile([1, 2], data), 'x.st'), 'not a JSON object'));
    it('unknown dtype', () =>
      expectUserError(() => parseSafetensors(rawFile({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, data), 'x.st'), 'x.st', '"w"', 'unknown dtype "F128"'));
    it('offsets out of range', () =>
      expectUserError(() => parseSafetensors(rawFile({ w: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, data), 'x.st'), '"w"', 'run past'));
    it('offsets not matching dtype x shape', () =>
      expectUserError(() => parseSafetensors(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, data), 'x.st'), '"w"', 'F32[3] = 12 bytes', 'hold 16'));
    it('overlapping tensors', () =>
      expectUserError(
        () =>
          parseSafetensors(
            rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, data),
            'x.st',
          ),
        '"b"',
        'overlap',
      ));
    it('a hole between tensors', () =>
      expectUserError(
        () => parseSafetensors(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, data), 'x.st'),
        '"b"',
        'gap',
      ));
    it('negative or fractional shape', () =>
      expectUserError(() => parseSafetensors(rawFile({ w: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, data), 'x.st'), '"w"', 'bad shape'));
    it('end before begin', () =>
      expectUserError(() => parseSafetensors(rawFile({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, data), 'x.st'), 'end before'));
    it('bad __metadata__', () => expectUserError(() => parseSafetensors(rawFile({ __metadata__: { a: 1 } }, new Uint8Array(0)), 'x.st'), '__metadata__'));
    it('mismatched data on write', () =>
      expect(() => serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(UserError));
  });

  describe('shared conformance files', () => {
    for (const c of CASES) {
      it(`${c}: reads every file and re-serializes io and adapter files byte for byte`, () => {
        const dir = path.join(conformanceDir, c);
        for (const name of ['model.safetensors', 'io.safetensors', 'grads.safetensors', 'adapter/adapter_model.safetensors']) {
          const bytes = new Uint8Array(fs.readFileSync(path.join(dir, name)));
          const f = parseSafetensors(bytes, name);
          for (const n of f.names) f.get(n);
        }
        const io = parseSafetensors(new Uint8Array(fs.readFileSync(path.join(dir, 'io.safetensors'))));
        expect(io.info('input_ids').dtype).toBe('I32');
        expect(io.info('input_ids').shape).toEqual([2, 12]);
        for (const name of ['io.safetensors', 'adapter/adapter_model.safetensors', 'grads.safetensors']) {
          const bytes = new Uint8Array(fs.readFileSync(path.join(dir, name)));
          const f = parseSafetensors(bytes);
          const again = serializeSafetensors(new Map(f.names.map((n) => [n, f.get(n)])), Object.keys(f.metadata).length ? f.metadata : undefined);
          expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
        }
      });
      it(`${c}: a truncated copy gives a clear error`, () => {
        const bytes = new Uint8Array(fs.readFileSync(path.join(conformanceDir, c, 'model.safetensors')));
        expectUserError(() => parseSafetensors(bytes.subarray(0, bytes.length - 100), 'model.safetensors'), 'model.safetensors', /run past|cover/);
        expectUserError(() => parseSafetensors(bytes.subarray(0, 100), 'model.safetensors'), 'runs past the end');
      });
    }
  });
});
