// Files the user picked, as the runtime's loaders want them: a ByteSource per file (random access
// through Blob.slice, so a tensor is read only when asked for) and a folder as a map of names.
//
// ByteSource has the shape of runtime/io/safetensors-reader.ts's (the streaming safetensors reader
// the io work adds for Node file handles): when that lands on main, openWeights() below opens a
// SafetensorsReader over a FileByteSource instead of parsing the whole file, and the folder goes
// through the same ModelFolder validation as in Node. Until then a shard is read whole.
import { parseSafetensors, type SafetensorsFile } from './engine.ts';

/** Random access to the bytes of one file (the same shape as the runtime's ByteSource). */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  read(position: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export class FileByteSource implements ByteSource {
  readonly size: number;

  constructor(
    private readonly file: Blob,
    readonly name: string,
  ) {
    this.size = file.size;
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    if (!(Number.isSafeInteger(position) && Number.isSafeInteger(length) && position >= 0 && length >= 0)) {
      throw new Error(`${this.name}: bad read of ${length} bytes at ${position}`);
    }
    if (position + length > this.size) throw new Error(`${this.name}: ${length} bytes at ${position} run past the end of the file (${this.size} bytes)`);
    return new Uint8Array(await this.file.slice(position, position + length).arrayBuffer());
  }

  async close(): Promise<void> {}
}

/** The picked files of a folder by their path inside it ("config.json", "adapter/adapter_config.json"). */
export function folderFiles(list: FileList | File[]): Map<string, File> {
  const files = new Map<string, File>();
  for (const f of Array.from(list)) {
    // A directory picker gives "top/inner/name"; drop the folder's own name.
    const rel = f.webkitRelativePath || f.name;
    files.set(rel.includes('/') ? rel.slice(rel.indexOf('/') + 1) : rel, f);
  }
  return files;
}

export function folderName(list: FileList | File[]): string {
  const first = Array.from(list)[0];
  const rel = first?.webkitRelativePath ?? '';
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : 'the folder';
}

export async function readText(source: ByteSource): Promise<string> {
  return new TextDecoder().decode(await source.read(0, source.size));
}

/** Opens one safetensors file of the folder (today: read whole; see the note at the top). */
export async function openWeights(source: ByteSource): Promise<SafetensorsFile> {
  return parseSafetensors(await source.read(0, source.size), source.name);
}
