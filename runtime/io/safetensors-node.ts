// Node side of streamed safetensors: a ByteSource over a file handle, and a writer that streams a
// file tensor by tensor. Multi-GB checkpoints never go through one buffer:
// - reads and writes go through FileHandle at explicit Number positions (exact to 2^53; Node 20's
//   FileHandle.read silently ignores a BigInt position and reads at the cursor instead);
// - each call moves at most IO_CHUNK_BYTES: a single read or write of 2 GiB or more aborts the
//   process in Node 20 (a C++ assertion on an int32 length, not a catchable error).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../../compiler/errors.ts';
import { DTYPE_SIZES, numel, type StoredTensor } from './dtypes.ts';
import { buildSafetensorsHeader, type HeaderEntry, type TensorInfo } from './safetensors.ts';
import { SafetensorsReader, type ByteSource } from './safetensors-reader.ts';

/** Largest single read or write: 1 GiB, well under the 2 GiB a single call can take. */
export const IO_CHUNK_BYTES = 1 << 30;

/** A UserError naming the file for the usual errno codes; anything else is rethrown as a bug. */
export function fileError(err: unknown, file: string): never {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') throw new UserError(`${file}: no such file`);
  if (e?.code === 'EISDIR') throw new UserError(`${file}: is a directory, expected a file`);
  if (e?.code === 'EACCES' || e?.code === 'EPERM') throw new UserError(`${file}: permission denied`);
  if (e?.code === 'EROFS') throw new UserError(`${file}: read-only file system`);
  if (e?.code === 'ENOSPC') throw new UserError(`${file}: no space left on the device`);
  if (e && typeof e.code === 'string') throw new UserError(`${file}: ${e.message}`);
  throw err;
}

/** Opens `file` for positional reads. `chunkBytes` is lowered by tests to exercise chunking. */
export async function openFileSource(file: string, opts: { chunkBytes?: number } = {}): Promise<ByteSource> {
  const chunk = opts.chunkBytes ?? IO_CHUNK_BYTES;
  let fh: fs.promises.FileHandle;
  let size: number;
  try {
    fh = await fs.promises.open(file, 'r');
    const st = await fh.stat();
    if (st.isDirectory()) {
      await fh.close();
      throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    }
    size = st.size;
  } catch (err) {
    fileError(err, file);
  }
  return {
    name: file,
    size,
    async read(position, length) {
      if (position + length > size) throw new UserError(`${file}: reading bytes [${position}, ${position + length}) past the end of the ${size}-byte file`);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = Math.min(chunk, length - done);
        let bytesRead: number;
        try {
          ({ bytesRead } = await fh.read({ buffer: out, offset: done, length: n, position: position + done }));
        } catch (err) {
          fileError(err, file);
        }
        if (bytesRead === 0) throw new UserError(`${file}: unexpected end of file at byte ${position + done} (was it truncated while being read?)`);
        done += bytesRead;
      }
      return out;
    },
    close: () => fh.close(),
  };
}

/** Opens a safetensors file for streamed reads; close() it when done. */
export async function openSafetensors(file: string, opts: { chunkBytes?: number } = {}): Promise<SafetensorsReader> {
  const src = await openFileSource(file, opts);
  try {
    return await SafetensorsReader.open(src);
  } catch (err) {
    await src.close();
    throw err;
  }
}

async function writeAll(fh: fs.promises.FileHandle, bytes: Uint8Array, position: number, chunk: number): Promise<void> {
  for (let done = 0; done < bytes.byteLength; ) {
    const n = Math.min(chunk, bytes.byteLength - done);
    const { bytesWritten } = await fh.write(bytes, done, n, position + done);
    done += bytesWritten;
  }
}

/**
 * Writes one safetensors file tensor by tensor. The layout (header and every offset) is fixed up
 * front from the entries, so only the tensor being written is in memory. Tensors must come in the
 * entries' order with the declared dtype and shape. The file appears under its name only after
 * finish() (written to a temporary name beside it, fsynced, renamed); abort() removes it.
 */
export class SafetensorsFileWriter {
  private next = 0;
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly tmp: string,
    private readonly fh: fs.promises.FileHandle,
    readonly layout: TensorInfo[],
    private readonly chunk: number,
  ) {}

  static async create(file: string, entries: readonly HeaderEntry[], metadata?: Record<string, string>, opts: { chunkBytes?: number } = {}): Promise<SafetensorsFileWriter> {
    const { header, tensors } = buildSafetensorsHeader(entries, metadata);
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${randomBytes(4).toString('hex')}`);
    let fh: fs.promises.FileHandle | undefined;
    try {
      fh = await fs.promises.open(tmp, 'w', 0o644);
      await writeAll(fh, header, 0, opts.chunkBytes ?? IO_CHUNK_BYTES);
    } catch (err) {
      await fh?.close();
      await fs.promises.rm(tmp, { force: true });
      fileError(err, file);
    }
    return new SafetensorsFileWriter(file, tmp, fh, tensors, opts.chunkBytes ?? IO_CHUNK_BYTES);
  }

  /** Writes the next tensor; `t` may be dropped as soon as this resolves. */
  async write(name: string, t: StoredTensor): Promise<void> {
    const slot = this.layout[this.next];
    if (!slot) throw new Error(`${this.file}: tensor "${name}" written after all ${this.layout.length} declared tensors`);
    if (slot.name !== name) throw new Error(`${this.file}: expected tensor "${slot.name}" next, got "${name}"`);
    if (t.dtype !== slot.dtype || t.shape.length !== slot.shape.length || t.shape.some((d, i) => d !== slot.shape[i])) {
      throw new Error(`${this.file}: tensor "${name}" is ${t.dtype}${JSON.stringify(t.shape)}, declared ${slot.dtype}${JSON.stringify(slot.shape)}`);
    }
    if (t.bytes.byteLength !== numel(t.shape) * DTYPE_SIZES[t.dtype]) throw new Error(`${this.file}: tensor "${name}" has ${t.bytes.byteLength} bytes for ${t.dtype}${JSON.stringify(t.shape)}`);
    try {
      await writeAll(this.fh, t.bytes, slot.byteOffset, this.chunk);
    } catch (err) {
      await this.abort();
      fileError(err, this.file);
    }
    this.next++;
  }

  /** Checks every tensor was written, syncs, and renames the file into place. */
  async finish(): Promise<void> {
    if (this.next !== this.layout.length) {
      await this.abort();
      throw new Error(`${this.file}: finished after ${this.next} of ${this.layout.length} tensors`);
    }
    try {
      await this.fh.sync();
      await this.fh.close();
      this.closed = true;
      await fs.promises.rename(this.tmp, this.file);
    } catch (err) {
      await this.abort();
      fileError(err, this.file);
    }
  }

  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => {});
    }
    await fs.promises.rm(this.tmp, { force: true });
  }
}
