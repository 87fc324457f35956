// Streaming safetensors reader: the header is read and validated once, then each tensor is fetched
// from its byte range when asked for, so loading a model holds one tensor at a time (plus the
// header), never the whole file. Pure: the bytes come through a ByteSource (a Node file handle in
// safetensors-node.ts; a browser can implement one over Blob.slice()).
import { UserError } from '../../compiler/errors.ts';
import type { StoredTensor } from './dtypes.ts';
import { parseSafetensorsHeader, readHeaderLength, tensorInfo, type SafetensorsHeader, type TensorInfo } from './safetensors.ts';

/** Random access to the bytes of one file. */
export interface ByteSource {
  /** A path or label for error messages. */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes from `position` in a fresh array; a short read is a UserError. */
  read(position: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export class SafetensorsReader {
  private constructor(
    private readonly src: ByteSource,
    readonly header: SafetensorsHeader,
  ) {}

  /** Reads and validates the header (at most 100 MB, checked against the file size first). */
  static async open(src: ByteSource): Promise<SafetensorsReader> {
    const first8 = await src.read(0, Math.min(8, src.size));
    const headerLen = readHeaderLength(first8, src.size, src.name);
    const headerBytes = await src.read(8, headerLen);
    return new SafetensorsReader(src, parseSafetensorsHeader(headerBytes, src.size, src.name));
  }

  get source(): string {
    return this.src.name;
  }

  /** Tensor names in data order. */
  get names(): string[] {
    return this.header.names;
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): TensorInfo {
    return tensorInfo(this.header, name);
  }

  /** Every tensor's entry, in data order. */
  list(): TensorInfo[] {
    return this.header.names.map((n) => this.info(n));
  }

  /** One tensor as stored (its dtype, shape and raw bytes). */
  async read(name: string): Promise<StoredTensor> {
    const info = this.info(name);
    return { dtype: info.dtype, shape: [...info.shape], bytes: await this.src.read(info.byteOffset, info.byteLength) };
  }

  /** `length` bytes of a tensor's data from byte `start` of it (to upload a huge tensor in parts). */
  async readBytes(name: string, start: number, length: number): Promise<Uint8Array> {
    const info = this.info(name);
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(length) && start >= 0 && length >= 0 && start + length <= info.byteLength)) {
      throw new UserError(`${this.source}: bytes [${start}, ${start + length}) are outside tensor "${name}" (${info.byteLength} bytes)`);
    }
    return this.src.read(info.byteOffset + start, length);
  }

  /** Tensors one at a time in data order (or the order of `names`); each is read only when reached. */
  async *tensors(names: readonly string[] = this.header.names): AsyncGenerator<[TensorInfo, StoredTensor]> {
    for (const name of names) yield [this.info(name), await this.read(name)];
  }

  close(): Promise<void> {
    return this.src.close();
  }
}
