// Minimal safetensors reader for fixtures (F32 and I32 only): u64 LE header length, JSON header, raw
// little-endian data. Kept here so these tests do not depend on the runtime's IO module.
import { readFileSync } from 'node:fs';

export interface LiteTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

export function readSafetensors(path: string): Record<string, LiteTensor> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out: Record<string, LiteTensor> = {};
  for (const [k, t] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const bytes = buf.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]);
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    if (t.dtype === 'F32') out[k] = { shape: t.shape, data: new Float32Array(copy) };
    else if (t.dtype === 'I32') out[k] = { shape: t.shape, data: new Int32Array(copy) };
    else throw new Error(`${path}: ${k} has dtype ${t.dtype}`);
  }
  return out;
}
