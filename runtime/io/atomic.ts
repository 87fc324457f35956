// Crash-safe writes (Node only). A checkpoint that is half written when the process dies, the disk
// fills or the user hits Ctrl-C must never replace a good one, so every write goes to a temporary
// name in the same directory (same filesystem, so rename is atomic), is fsynced, and only then renamed
// into place.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../../compiler/errors.ts';

export type FileContents = Uint8Array | string;

function tmpSuffix(): string {
  return randomBytes(4).toString('hex');
}

function writeAndSync(file: string, data: FileContents): void {
  const fd = fs.openSync(file, 'w', 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.byteLength) off += fs.writeSync(fd, buf, off, buf.byteLength - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync a directory so a rename inside it survives a power cut; not every platform allows it. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows cannot open directories; the rename is still atomic there, only less durable.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function wrapIo(err: unknown, what: string): never {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') throw new UserError(`${what}: ${e.message}`);
  throw err;
}

/** Writes a file atomically: readers see either the old contents or the complete new ones. */
export function writeFileAtomic(file: string, data: FileContents): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${tmpSuffix()}`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    writeAndSync(tmp, data);
    fs.renameSync(tmp, file);
    syncDir(dir);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    wrapIo(err, `cannot write ${file}`);
  }
}

/**
 * Replaces directory `dir` with one holding exactly `files` (relative names, no subfolders).
 * The new contents go to `DIR.tmp-XXXX` first; only when every file is written and synced is the old
 * directory moved aside to `DIR.old-XXXX`, the new one renamed to DIR, and the old one deleted.
 * POSIX cannot rename a directory over a non-empty one, hence the two renames; if the process dies
 * between them, recoverDir() (called here on the next write, and by readers) puts the old one back.
 */
export function writeDirAtomic(dir: string, files: Record<string, FileContents>): void {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const base = path.basename(target);
  for (const name of Object.keys(files)) {
    if (name !== path.basename(name) || name === '.' || name === '..') {
      throw new UserError(`checkpoint file name "${name}" must be a plain file name`);
    }
  }
  recoverDir(target);
  const tmp = path.join(parent, `${base}.tmp-${tmpSuffix()}`);
  const old = path.join(parent, `${base}.old-${tmpSuffix()}`);
  try {
    fs.mkdirSync(tmp, { recursive: true });
    for (const [name, data] of Object.entries(files)) writeAndSync(path.join(tmp, name), data);
    syncDir(tmp);
    const hadOld = fs.existsSync(target);
    if (hadOld) fs.renameSync(target, old);
    fs.renameSync(tmp, target);
    syncDir(parent);
    if (hadOld) fs.rmSync(old, { recursive: true, force: true });
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // If we moved the old directory aside but failed to put the new one in, restore it.
    if (!fs.existsSync(target) && fs.existsSync(old)) fs.renameSync(old, target);
    wrapIo(err, `cannot write ${dir}`);
  }
}

/**
 * Cleans up after a write that died: removes stale `DIR.tmp-*` folders (never complete by
 * definition) and, if DIR itself is missing but a `DIR.old-*` exists, renames that back.
 */
export function recoverDir(dir: string): void {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const base = path.basename(target);
  let entries: string[];
  try {
    entries = fs.readdirSync(parent);
  } catch {
    return; // parent does not exist yet: nothing to recover
  }
  const olds = entries.filter((e) => e.startsWith(`${base}.old-`));
  for (const e of entries) {
    if (e.startsWith(`${base}.tmp-`)) fs.rmSync(path.join(parent, e), { recursive: true, force: true });
  }
  if (!fs.existsSync(target) && olds.length > 0) {
    fs.renameSync(path.join(parent, olds[0]!), target);
    olds.shift();
  }
  for (const e of olds) fs.rmSync(path.join(parent, e), { recursive: true, force: true });
}
