// Files the user picked, as the runtime's loaders want them: a ByteSource per file (random access
// through Blob.slice, so a tensor is read only when asked for) and a picked folder as a FolderSource,
// which HfFolder (runtime/io/hf-folder.ts) opens exactly as ModelFolder opens a folder on disk in Node.
import type { ByteSource, FolderSource } from './engine.ts';

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

/** The folder's own name, from the first picked file's relative path. */
export function folderName(list: FileList | File[]): string {
  const rel = Array.from(list)[0]?.webkitRelativePath ?? '';
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : 'the folder';
}

/** What a directory picker gave, as a FolderSource. */
export function pickedFolder(list: FileList | File[]): FolderSource {
  const name = folderName(list);
  const files = folderFiles(list);
  const file = (f: string): File => {
    const found = files.get(f);
    if (!found) throw new Error(`${name}/${f}: no such file in the picked folder`);
    return found;
  };
  return {
    name,
    path: (f) => `${name}/${f}`,
    has: (f) => files.has(f),
    text: (f) => file(f).text(),
    open: async (f) => new FileByteSource(file(f), `${name}/${f}`),
  };
}
