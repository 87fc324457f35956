// Safetensors reader and writer. Pure (no Node APIs): it works on bytes so the browser build can use it.
//
// Layout: 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON, then the data region.
// The JSON maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the
// data region) plus an optional "__metadata__" string->string map. Every number in the header comes
// from an untrusted file, so each is checked before use: a corrupt file must end in a UserError that
// names the file and the tensor, never in a RangeError from a typed-array constructor.
import { UserError } from '../../compiler/errors.ts';

/** Element size in bytes of each dtype the format defines. */
export const DTYPE_SIZES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  U64: 8,
  I32: 4,
  U32: 4,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
} as const;

export type Dtype = keyof typeof DTYPE_SIZES;

/** Float dtypes that get() decodes to Float32Array; the integer ones decode to Int32Array. */
const FLOAT_DTYPES = new Set<Dtype>(['F64', 'F32', 'F16', 'BF16']);
const INT_DTYPES = new Set<Dtype>(['I64', 'U64', 'I32', 'U32', 'I16', 'U16', 'I8', 'U8', 'BOOL']);

/** The HF reference implementation refuses headers over 100 MB; so do we (a hostile length could ask for GBs). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Absolute byte offset of the tensor's data in the file. */
  byteOffset: number;
  byteLength: number;
}

export interface Tensor {
  dtype: Dtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface SafetensorsFile {
  /** Where the bytes came from (a path or a label), used in error messages. */
  readonly source: string;
  /** Tensor names in data order. */
  readonly names: string[];
  readonly metadata: Record<string, string>;
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** The tensor's raw little-endian bytes (a view, not a copy). */
  raw(name: string): Uint8Array;
  /** Decoded tensor: floats become Float32Array, integers Int32Array (range-checked). */
  get(name: string): Tensor;
  /** Like get() but insists on a float tensor. */
  getFloat32(name: string): Float32Array;
  /** Like get() but insists on an integer tensor. */
  getInt32(name: string): Int32Array;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fail(source: string, what: string): never {
  throw new UserError(`${source}: not a valid safetensors file: ${what}`);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses and validates a whole safetensors file held in memory. */
export function parseSafetensors(input: Uint8Array | ArrayBuffer, source = '<memory>'): SafetensorsFile {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.byteLength < 8) fail(source, `file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen64 = view.getBigUint64(0, true);
  if (headerLen64 > BigInt(MAX_HEADER_BYTES)) {
    fail(source, `header length ${headerLen64} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not safetensors)`);
  }
  const headerLen = Number(headerLen64);
  if (8 + headerLen > bytes.byteLength) {
    fail(source, `header length ${headerLen} runs past the end of the ${bytes.byteLength}-byte file (truncated?)`);
  }
  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    fail(source, 'header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (err) {
    fail(source, `header is not JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(source, 'header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const infos = new Map<string, TensorInfo>();
  const spans: { name: string; begin: number; end: number }[] = [];

  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail(source, '"__metadata__" is not an object');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(source, `"__metadata__" value for "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail(source, `${where} has no {dtype, shape, data_offsets} entry`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZES)) {
      fail(source, `${where} has unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_SIZES).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) fail(source, `${where} has a bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt)) {
      fail(source, `${where} has bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(source, `${where} data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) {
      fail(source, `${where} data_offsets [${begin}, ${end}] run past the ${dataLen}-byte data region (truncated file?)`);
    }
    const elements = numel(shape as number[]);
    const expected = elements * DTYPE_SIZES[dtype as Dtype];
    if (!Number.isSafeInteger(expected) || expected !== end - begin) {
      fail(source, `${where} is ${dtype}${JSON.stringify(shape)} = ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    infos.set(name, { name, dtype: dtype as Dtype, shape: [...(shape as number[])], byteOffset: dataStart + begin, byteLength: end - begin });
    spans.push({ name, begin, end });
  }

  // Like the reference implementation: tensors must tile the data region exactly, with no overlap,
  // no hole and no trailing bytes. Zero-sized tensors take no room and may sit anywhere.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const s of spans) {
    if (s.begin === s.end) continue;
    if (s.begin < cursor) fail(source, `tensor "${s.name}" data_offsets [${s.begin}, ${s.end}] overlap the previous tensor (which ends at ${cursor})`);
    if (s.begin > cursor) fail(source, `tensor "${s.name}" starts at ${s.begin}, leaving a gap after byte ${cursor} of the data region`);
    cursor = s.end;
  }
  if (cursor !== dataLen) fail(source, `tensors cover ${cursor} bytes but the data region is ${dataLen} bytes`);

  const names = spans.map((s) => s.name);
  const infoOf = (name: string): TensorInfo => {
    const info = infos.get(name);
    if (!info) throw new UserError(`${source}: no tensor named "${name}"`);
    return info;
  };
  const raw = (name: string): Uint8Array => {
    const info = infoOf(name);
    return bytes.subarray(info.byteOffset, info.byteOffset + info.byteLength);
  };
  const get = (name: string): Tensor => {
    const info = infoOf(name);
    const src = raw(name);
    if (FLOAT_DTYPES.has(info.dtype)) return { dtype: info.dtype, shape: [...info.shape], data: decodeFloat(src, info.dtype) };
    if (INT_DTYPES.has(info.dtype)) return { dtype: info.dtype, shape: [...info.shape], data: decodeInt(src, info.dtype, source, name) };
    throw new UserError(`${source}: tensor "${name}" has dtype ${info.dtype}, which Rankfold cannot decode (use raw())`);
  };
  return {
    source,
    names,
    metadata,
    has: (name) => infos.has(name),
    info: infoOf,
    raw,
    get,
    getFloat32(name) {
      const t = get(name);
      if (!(t.data instanceof Float32Array)) throw new UserError(`${source}: tensor "${name}" is ${t.dtype}, expected a float tensor`);
      return t.data;
    },
    getInt32(name) {
      const t = get(name);
      if (!(t.data instanceof Int32Array)) throw new UserError(`${source}: tensor "${name}" is ${t.dtype}, expected an integer tensor`);
      return t.data;
    },
  };
}

/** Copies bytes into a fresh, aligned buffer (the source offset may not be a multiple of the element size). */
function alignedCopy(src: Uint8Array): ArrayBuffer {
  const buf = new ArrayBuffer(src.byteLength);
  new Uint8Array(buf).set(src);
  return buf;
}

// f16 -> f32 by table: 64K entries, built on first use.
let f16Table: Float32Array | undefined;
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return (f16Table = t);
}

export function decodeFloat(src: Uint8Array, dtype: Dtype): Float32Array {
  const n = src.byteLength / DTYPE_SIZES[dtype];
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  switch (dtype) {
    case 'F32': {
      if (HOST_LITTLE_ENDIAN) return new Float32Array(alignedCopy(src));
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    }
    case 'F16': {
      const table = halfTable();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[dv.getUint16(i * 2, true)]!;
      return out;
    }
    case 'BF16': {
      // bf16 is the top half of an f32: shift it up and reinterpret.
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = dv.getUint16(i * 2, true) << 16;
      return out;
    }
    default:
      throw new Error(`decodeFloat: ${dtype} is not a float dtype`);
  }
}

function decodeInt(src: Uint8Array, dtype: Dtype, source: string, name: string): Int32Array {
  const size = DTYPE_SIZES[dtype];
  const n = src.byteLength / size;
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const out = new Int32Array(n);
  const outOfRange = (i: number, v: bigint | number): never => {
    throw new UserError(`${source}: tensor "${name}" (${dtype}) element ${i} = ${v} does not fit in int32`);
  };
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'I64': {
        const lo = dv.getInt32(i * 8, true);
        const hi = dv.getInt32(i * 8 + 4, true);
        // Fits in int32 exactly when the high word is the sign extension of the low word.
        if (hi !== lo >> 31) outOfRange(i, dv.getBigInt64(i * 8, true));
        out[i] = lo;
        break;
      }
      case 'U64': {
        const v = dv.getBigUint64(i * 8, true);
        if (v > 0x7fffffffn) outOfRange(i, v);
        out[i] = Number(v);
        break;
      }
      case 'I32':
        out[i] = dv.getInt32(i * 4, true);
        break;
      case 'U32': {
        const v = dv.getUint32(i * 4, true);
        if (v > 0x7fffffff) outOfRange(i, v);
        out[i] = v;
        break;
      }
      case 'I16':
        out[i] = dv.getInt16(i * 2, true);
        break;
      case 'U16':
        out[i] = dv.getUint16(i * 2, true);
        break;
      case 'I8':
        out[i] = dv.getInt8(i);
        break;
      case 'U8':
      case 'BOOL':
        out[i] = dv.getUint8(i);
        break;
      default:
        throw new Error(`decodeInt: ${dtype} is not an integer dtype`);
    }
  }
  return out;
}

/** A tensor to write: F32 from a Float32Array, I32 from an Int32Array. */
export interface TensorInput {
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

/**
 * Serializes tensors to safetensors bytes. Like the reference writer, tensors are laid out by dtype
 * (F32 before I32) then by name, the header lists them in that order after "__metadata__", and the
 * header is padded with spaces to a multiple of 8 bytes so the data region is 8-byte aligned.
 */
export function serializeSafetensors(
  tensors: Map<string, TensorInput> | Record<string, TensorInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const withDtype = entries.map(([name, t]) => {
    if (name === '__metadata__') throw new UserError('a tensor cannot be named "__metadata__"');
    const dtype: Dtype = t.data instanceof Float32Array ? 'F32' : 'I32';
    const n = numel(t.shape);
    if (!t.shape.every(isNonNegInt) || n !== t.data.length) {
      throw new UserError(`tensor "${name}": shape ${JSON.stringify(t.shape)} holds ${n} elements but the data has ${t.data.length}`);
    }
    return { name, dtype, t };
  });
  const rank = (d: Dtype) => (d === 'F32' ? 0 : 1);
  withDtype.sort((a, b) => rank(a.dtype) - rank(b.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const { name, dtype, t } of withDtype) {
    const len = t.data.byteLength;
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + len] };
    offset += len;
  }
  let headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(headerBytes.byteLength / 8) * 8;
  if (padded !== headerBytes.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(headerBytes);
    headerBytes = p;
  }
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const { t } of withDtype) {
    const src = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (HOST_LITTLE_ENDIAN) out.set(src, pos);
    else {
      const dv = new DataView(out.buffer, pos, t.data.byteLength);
      for (let i = 0; i < t.data.length; i++) {
        if (t.data instanceof Float32Array) dv.setFloat32(i * 4, t.data[i]!, true);
        else dv.setInt32(i * 4, t.data[i]!, true);
      }
    }
    pos += t.data.byteLength;
  }
  return out;
}
