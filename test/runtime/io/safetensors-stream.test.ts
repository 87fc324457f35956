import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../../compiler/errors.ts';
import { fromFloat32, fromInt32, toFloat32, toInt32, type StoredTensor } from '../../../runtime/io/dtypes.ts';
import { parseSafetensors, serializeSafetensors } from '../../../runtime/io/safetensors.ts';
import { SafetensorsFileWriter, openSafetensors } from '../../../runtime/io/safetensors-node.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-st-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function rejects(p: Promise<unknown>, ...parts: (string | RegExp)[]): Promise<Error> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(Error);
  for (const part of parts) expect((caught as Error).message).toMatch(part);
  return caught as Error;
}

/** A header naming the given tensors back to back from offset 0 (no validation: for corrupt and sparse files). */
function headerBytes(entries: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(entries));
  const out = new Uint8Array(8 + h.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

describe('streamed safetensors', () => {
  const tensors: [string, StoredTensor][] = [
    ['a.weight', fromFloat32(new Float32Array([1, -2, 3.5, 0.25, 8, -0.5]), 'F32', [2, 3])],
    ['b.weight', fromFloat32(new Float32Array([1, 2 ** -10, -3, 2 ** 100]), 'BF16', [4])],
    ['c.weight', fromFloat32(new Float32Array([0.5, -1, 2 ** -20]), 'F16', [3])],
    ['empty', fromFloat32(new Float32Array(0), 'F32', [0, 4])],
    ['ids', { dtype: 'I64', shape: [2], bytes: new Uint8Array(new BigInt64Array([151643n, -100n]).buffer) }],
  ];

  it('writes tensor by tensor, and reads each back as stored through small chunks', async () => {
    const file = path.join(tmp, 'w.safetensors');
    const w = await SafetensorsFileWriter.create(file, tensors.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })), { format: 'pt' });
    expect(fs.existsSync(file)).toBe(false); // appears only when finished
    for (const [name, t] of tensors) await w.write(name, t);
    await w.finish();
    expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);

    // The in-memory parser agrees with the streamed one, and the data region is 8-byte aligned.
    const whole = parseSafetensors(new Uint8Array(fs.readFileSync(file)), file);
    expect(whole.metadata).toEqual({ format: 'pt' });
    expect(whole.info('a.weight').byteOffset % 8).toBe(0);

    const r = await openSafetensors(file, { chunkBytes: 3 }); // every read spans several chunks
    try {
      expect(r.names).toEqual(tensors.map(([n]) => n));
      expect(r.metadata).toEqual({ format: 'pt' });
      for (const [name, t] of tensors) {
        const got = await r.read(name);
        expect(got.dtype).toBe(t.dtype);
        expect(got.shape).toEqual(t.shape);
        expect(Array.from(got.bytes)).toEqual(Array.from(t.bytes));
        expect(Array.from(got.bytes)).toEqual(Array.from(whole.raw(name)));
      }
      expect(Array.from(toFloat32(await r.read('b.weight')))).toEqual([1, 2 ** -10, -3, 2 ** 100]);
      expect(Array.from(toInt32(await r.read('ids')))).toEqual([151643, -100]);
      expect(Array.from(await r.readBytes('a.weight', 4, 8))).toEqual(Array.from(tensors[0]![1].bytes.subarray(4, 12)));
      await rejects(r.readBytes('a.weight', 20, 8), 'outside tensor "a.weight"');
      await rejects(r.read('nope'), 'w.safetensors', 'no tensor named "nope"');
      const seen: string[] = [];
      for await (const [info, t] of r.tensors()) {
        seen.push(info.name);
        expect(t.bytes.byteLength).toBe(info.byteLength);
      }
      expect(seen).toEqual(r.names);
    } finally {
      await r.close();
    }
  });

  it('the streamed writer reproduces serializeSafetensors byte for byte for the same layout', async () => {
    const a = new Float32Array([1, 2, 3]);
    const ids = new Int32Array([4, 5]);
    const mem = serializeSafetensors({ a: { shape: [3], data: a }, ids: { shape: [2], data: ids } }, { format: 'pt' });
    const file = path.join(tmp, 'same.safetensors');
    const w = await SafetensorsFileWriter.create(file, [{ name: 'a', dtype: 'F32', shape: [3] }, { name: 'ids', dtype: 'I32', shape: [2] }], { format: 'pt' });
    await w.write('a', fromFloat32(a, 'F32', [3]));
    await w.write('ids', fromInt32(ids, [2]));
    await w.finish();
    expect(Buffer.from(fs.readFileSync(file)).equals(Buffer.from(mem))).toBe(true);
  });

  it('the writer refuses tensors out of order, of the wrong shape, or missing, and leaves no file', async () => {
    const file = path.join(tmp, 'bad.safetensors');
    const entries = [{ name: 'x', dtype: 'F32' as const, shape: [2] }, { name: 'y', dtype: 'F32' as const, shape: [1] }];
    let w = await SafetensorsFileWriter.create(file, entries);
    await rejects(w.write('y', fromFloat32(new Float32Array(1), 'F32', [1])), 'expected tensor "x" next');
    await rejects(w.write('x', fromFloat32(new Float32Array(3), 'F32', [3])), 'declared F32[2]');
    await w.write('x', fromFloat32(new Float32Array(2), 'F32', [2]));
    await rejects(w.finish(), 'after 1 of 2 tensors');
    expect(fs.existsSync(file)).toBe(false);
    w = await SafetensorsFileWriter.create(file, entries);
    await w.abort();
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('.bad'))).toEqual([]);
    await rejects(SafetensorsFileWriter.create(file, [entries[0]!, entries[0]!]), 'listed twice');
  });

  it('corrupt, truncated and missing files give UserErrors naming the file', async () => {
    await rejects(openSafetensors(path.join(tmp, 'none.safetensors')), 'none.safetensors: no such file');
    await rejects(openSafetensors(tmp), 'is a directory');
    const short = path.join(tmp, 'short.safetensors');
    fs.writeFileSync(short, new Uint8Array(5));
    await rejects(openSafetensors(short), 'short.safetensors', 'shorter than the 8-byte header length');
    const h = headerBytes({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } });
    const trunc = path.join(tmp, 'trunc.safetensors');
    fs.writeFileSync(trunc, Buffer.concat([h, new Uint8Array(10)]));
    const err = await rejects(openSafetensors(trunc), 'trunc.safetensors', '"w"', 'run past');
    expect(err).toBeInstanceOf(UserError);
    const huge = path.join(tmp, 'huge.safetensors');
    const b = new Uint8Array(16);
    new DataView(b.buffer).setBigUint64(0, 10n ** 12n, true);
    fs.writeFileSync(huge, b);
    await rejects(openSafetensors(huge), 'exceeds the 100000000-byte limit');
  });

  it('reads a tensor whose data lie past 2^31 and 2^32 in a sparse 4.3 GB file', async () => {
    // A U8 filler covers the first ~4.3 GB of the data region; the tensor after it starts past 2^32.
    const filler = 2 ** 32 + 4096;
    const x = new Float32Array([1.5, -2.25, 3, 4]);
    const h = headerBytes({ filler: { dtype: 'U8', shape: [filler], data_offsets: [0, filler] }, x: { dtype: 'F32', shape: [4], data_offsets: [filler, filler + 16] } });
    const file = path.join(tmp, 'sparse.safetensors');
    const size = h.length + filler + 16;
    const fd = fs.openSync(file, 'w');
    try {
      fs.ftruncateSync(fd, size); // sparse: no disk blocks for the hole
      fs.writeSync(fd, h, 0, h.length, 0);
      fs.writeSync(fd, new Uint8Array(x.buffer), 0, 16, size - 16);
      fs.writeSync(fd, new Uint8Array([7, 8, 9]), 0, 3, h.length + 2 ** 31 + 5); // inside the filler, past 2^31
    } finally {
      fs.closeSync(fd);
    }
    const r = await openSafetensors(file);
    try {
      const info = r.info('x');
      expect(info.byteOffset).toBeGreaterThan(2 ** 32);
      expect(Array.from(toFloat32(await r.read('x')))).toEqual([1.5, -2.25, 3, 4]);
      expect(Array.from(await r.readBytes('filler', 2 ** 31 + 4, 5))).toEqual([0, 7, 8, 9, 0]);
    } finally {
      await r.close();
      fs.rmSync(file);
    }
  });
});
