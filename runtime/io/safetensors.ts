// Safetensors reader and writer. Pure (no Node APIs): it works on bytes so the browser build can use it.
//
// Layout: 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON, then the data region.
// The JSON maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the
// data region) plus an optional "__metadata__" string->string map. Every number in the header comes
// from an untrusted file, so each is checked before use: a corrupt file must end in a UserError that
// names the file and the tensor, never in a RangeError from a typed-array constructor.
import { UserError } from '../../compiler/errors.ts';
import { DTYPE_SIZES, fromFloat32, fromInt32, numel, toFloat32, toInt32, type Dtype } from './dtypes.ts';

export { DTYPE_SIZES, numel, type Dtype } from './dtypes.ts';

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

function fail(source: string, what: string): never {
  throw new UserError(`${source}: not a valid safetensors file: ${what}`);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** A parsed and validated header: where every tensor lies in a file of a known size. */
export interface SafetensorsHeader {
  source: string;
  /** Tensor names in data order. */
  names: string[];
  metadata: Record<string, string>;
  tensors: Map<string, TensorInfo>;
  /** Absolute offset of the data region (8 + header length). */
  dataStart: number;
}

/**
 * The header length from the file's first 8 bytes, checked against the 100 MB bound and the file
 * size, so a reader knows how many bytes to fetch before it has parsed anything.
 */
export function readHeaderLength(first8: Uint8Array, fileSize: number, source: string): number {
  if (fileSize < 8 || first8.byteLength < 8) fail(source, `file is ${fileSize} bytes, shorter than the 8-byte header length`);
  const headerLen64 = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (headerLen64 > BigInt(MAX_HEADER_BYTES)) {
    fail(source, `header length ${headerLen64} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not safetensors)`);
  }
  const headerLen = Number(headerLen64);
  if (8 + headerLen > fileSize) fail(source, `header length ${headerLen} runs past the end of the ${fileSize}-byte file (truncated?)`);
  return headerLen;
}

/**
 * Parses the header JSON (the `headerLen` bytes after the length) of a file of `fileSize` bytes and
 * checks every entry against the data region, without needing the data itself in memory.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileSize: number, source: string): SafetensorsHeader {
  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
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

  const dataStart = 8 + headerBytes.byteLength;
  const dataLen = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
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
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_SIZES, dtype)) {
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
    const expected = numel(shape as number[]) * DTYPE_SIZES[dtype as Dtype];
    if (!Number.isSafeInteger(expected) || expected !== end - begin) {
      fail(source, `${where} is ${dtype}${JSON.stringify(shape)} = ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    tensors.set(name, { name, dtype: dtype as Dtype, shape: [...(shape as number[])], byteOffset: dataStart + begin, byteLength: end - begin });
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
  return { source, names: spans.map((s) => s.name), metadata, tensors, dataStart };
}

/** The tensor's entry, or a UserError naming the file and the missing tensor. */
export function tensorInfo(header: SafetensorsHeader, name: string): TensorInfo {
  const info = header.tensors.get(name);
  if (!info) throw new UserError(`${header.source}: no tensor named "${name}"`);
  return info;
}

/** Parses and validates a whole safetensors file held in memory. */
export function parseSafetensors(input: Uint8Array | ArrayBuffer, source = '<memory>'): SafetensorsFile {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const headerLen = readHeaderLength(bytes.subarray(0, 8), bytes.byteLength, source);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + headerLen), bytes.byteLength, source);
  const infoOf = (name: string): TensorInfo => tensorInfo(header, name);
  const raw = (name: string): Uint8Array => {
    const info = infoOf(name);
    return bytes.subarray(info.byteOffset, info.byteOffset + info.byteLength);
  };
  const get = (name: string): Tensor => {
    const info = infoOf(name);
    const stored = { dtype: info.dtype, shape: [...info.shape], bytes: raw(name) };
    const what = `${source}: tensor "${name}"`;
    if (FLOAT_DTYPES.has(info.dtype)) return { dtype: info.dtype, shape: stored.shape, data: toFloat32(stored, what) };
    if (INT_DTYPES.has(info.dtype)) return { dtype: info.dtype, shape: stored.shape, data: toInt32(stored, what) };
    throw new UserError(`${source}: tensor "${name}" has dtype ${info.dtype}, which Rankfold cannot decode (use raw())`);
  };
  return {
    source,
    names: header.names,
    metadata: header.metadata,
    has: (name) => header.tensors.has(name),
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

/** Decodes float bytes (F32, F16, BF16, F64) to Float32Array. */
export function decodeFloat(src: Uint8Array, dtype: Dtype): Float32Array {
  return toFloat32({ dtype, shape: [src.byteLength / DTYPE_SIZES[dtype]], bytes: src });
}

/** A tensor to write: F32 from a Float32Array, I32 from an Int32Array. */
export interface TensorInput {
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

/** One tensor's place in a file being laid out: name, dtype and shape, in data order. */
export interface HeaderEntry {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
}

/**
 * Lays out a file: the header bytes (compact JSON, `__metadata__` first, the tensors in the given
 * order, padded with spaces to a multiple of 8 so the data region is 8-byte aligned, as the reference
 * writer does) and each tensor's absolute byte range. The data follow in the same order.
 */
export function buildSafetensorsHeader(
  entries: readonly HeaderEntry[],
  metadata?: Record<string, string>,
): { header: Uint8Array; tensors: TensorInfo[]; fileSize: number } {
  const json: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) json.__metadata__ = metadata;
  const seen = new Set<string>();
  let offset = 0;
  const spans: { e: HeaderEntry; begin: number; len: number }[] = [];
  for (const e of entries) {
    if (e.name === '__metadata__') throw new UserError('a tensor cannot be named "__metadata__"');
    if (seen.has(e.name)) throw new UserError(`tensor "${e.name}" is listed twice`);
    seen.add(e.name);
    if (!e.shape.every(isNonNegInt)) throw new UserError(`tensor "${e.name}": bad shape ${JSON.stringify(e.shape)}`);
    const len = numel(e.shape) * DTYPE_SIZES[e.dtype];
    json[e.name] = { dtype: e.dtype, shape: [...e.shape], data_offsets: [offset, offset + len] };
    spans.push({ e, begin: offset, len });
    offset += len;
  }
  let header = new TextEncoder().encode(JSON.stringify(json));
  const padded = Math.ceil(header.byteLength / 8) * 8;
  if (padded !== header.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(header);
    header = p;
  }
  const dataStart = 8 + header.byteLength;
  const prefix = new Uint8Array(dataStart);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(header.byteLength), true);
  prefix.set(header, 8);
  const tensors = spans.map(({ e, begin, len }) => ({ name: e.name, dtype: e.dtype, shape: [...e.shape], byteOffset: dataStart + begin, byteLength: len }));
  return { header: prefix, tensors, fileSize: dataStart + offset };
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
  const stored = entries.map(([name, t]) => {
    if (name === '__metadata__') throw new UserError('a tensor cannot be named "__metadata__"');
    const n = numel(t.shape);
    if (!t.shape.every(isNonNegInt) || n !== t.data.length) {
      throw new UserError(`tensor "${name}": shape ${JSON.stringify(t.shape)} holds ${n} elements but the data has ${t.data.length}`);
    }
    return { name, ...(t.data instanceof Float32Array ? fromFloat32(t.data, 'F32', t.shape) : fromInt32(t.data, t.shape)) };
  });
  const rank = (d: Dtype) => (d === 'F32' ? 0 : 1);
  stored.sort((a, b) => rank(a.dtype) - rank(b.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const { header, tensors: placed, fileSize } = buildSafetensorsHeader(stored, metadata);
  const out = new Uint8Array(fileSize);
  out.set(header);
  stored.forEach((t, i) => out.set(t.bytes, placed[i]!.byteOffset));
  return out;
}
