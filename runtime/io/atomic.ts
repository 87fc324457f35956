// Crash-safe writes (Node only), without ever touching a file Rankfold did not make.
//
// One file (writeFileAtomic): written to a hidden temporary name next to it (same filesystem, so the
// rename is atomic), fsynced, renamed into place. The temporary name carries the writer's pid, so the
// next writer of that file removes what a killed one left (a dead pid), never a live writer's.
//
// Several files that belong together (commitFiles: an adapter's config and weights, a checkpoint,
// a run's loss log and plot): all are written into a staging folder INSIDE the output folder, which
// is then renamed to a commit folder (the commit point), and the files are renamed into place one by
// one. A kill before the commit point leaves the old files; after it, the next writer of the folder
// finishes the commit (recoverOutputs), and readers refuse a half-finished one (requireSettled) rather
// than read a new weights file with a stale config. A manifest in the folder (MANIFEST_NAME) lists
// the files Rankfold wrote there: a commit replaces or removes only those, and refuses to overwrite
// any other file, so users' files inside output folders survive every command. spec/reliability.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../../compiler/errors.ts';
import { createFailure, ioError, isErrno, processAlive } from './fs-errors.ts';

export type FileContents = Uint8Array | string;

/** The record, in an output folder, of the files Rankfold wrote there. */
export const MANIFEST_NAME = '.rankfold-outputs.json';
const MANIFEST_FORMAT = 'rankfold-outputs';
const STAGING_PREFIX = '.rankfold-staging-';
const COMMIT_PREFIX = '.rankfold-commit-';
const INTENT_NAME = 'intent.json';
const FILES_DIR = 'files';
/** `.rankfold-staging-<pid>-<hex>`, `.rankfold-commit-<pid>-<hex>` and `.NAME.rankfold-tmp-<pid>-<hex>`. */
const LEFTOVER = /^(?:\.rankfold-(staging|commit)-|\..+\.rankfold-(tmp)-)(\d+)-[0-9a-f]+$/;

/** A name no other writer uses: this process's pid (so leftovers of dead writers are known) and random bits. */
function uniqueTag(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
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

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function removeIfEmpty(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // not empty (or gone): left as it is
  }
}

/** Creates `dir` and its parents, with errors that name the real cause. */
export function makeDir(dir: string): void {
  if (exists(dir) && !fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: not a folder`);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    if (isErrno(err)) throw createFailure(dir, err);
    throw err;
  }
}

function checkNames(names: string[]): void {
  for (const name of names) {
    if (name !== path.basename(name) || name === '.' || name === '..' || name === '' || name.startsWith('.rankfold')) {
      throw new UserError(`output file name "${name}" must be a plain file name`);
    }
  }
}

/** Writes a file atomically: readers see either the old contents or the complete new ones. */
export function writeFileAtomic(file: string, data: FileContents): void {
  const dir = path.dirname(path.resolve(file));
  makeDir(dir);
  recoverOutputs(dir, path.basename(file));
  const tmp = path.join(dir, `.${path.basename(file)}.rankfold-tmp-${uniqueTag()}`);
  try {
    writeAndSync(tmp, data);
    fs.renameSync(tmp, file);
    syncDir(dir);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    ioError(err, file, 'write');
  }
}

/** The files a Rankfold write made in `dir` (empty when it has no manifest). */
export function ownedFiles(dir: string): Set<string> {
  const file = path.join(dir, MANIFEST_NAME);
  if (!exists(file)) return new Set();
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as { format?: unknown; files?: unknown };
    if (m.format !== MANIFEST_FORMAT || !Array.isArray(m.files) || !m.files.every((f) => typeof f === 'string')) throw new Error('unexpected contents');
    return new Set(m.files as string[]);
  } catch (err) {
    if (isErrno(err)) ioError(err, file, 'read');
    throw new UserError(`${file}: not a Rankfold output record (${(err as Error).message}); remove it only if no Rankfold output is in ${dir}`);
  }
}

function writeManifest(dir: string, files: Set<string>): void {
  writeFileAtomic(path.join(dir, MANIFEST_NAME), JSON.stringify({ format: MANIFEST_FORMAT, version: 1, files: [...files].sort() }, null, 1) + '\n');
}

/**
 * Refuses, before a run does its work, to write over files Rankfold did not make: each of `names`
 * must be absent from `dir` or listed in its manifest.
 */
export function requireOwnable(dir: string, names: string[]): void {
  if (!exists(dir)) return;
  const owned = ownedFiles(dir);
  const foreign = names.filter((n) => exists(path.join(dir, n)) && !owned.has(n));
  if (foreign.length === 0) return;
  const list = foreign.join(', ');
  throw new UserError(
    `${dir}: ${list} ${foreign.length > 1 ? 'exist' : 'exists'} but Rankfold did not write ${foreign.length > 1 ? 'them' : 'it'} (not in ${MANIFEST_NAME}); ` +
      `Rankfold never replaces files it did not make: move ${foreign.length > 1 ? 'them' : 'it'} away or choose another output folder`,
  );
}

export interface CommitOptions {
  /**
   * 'update' (default): the files are added or replaced, other Rankfold files stay. 'replace': the
   * folder's Rankfold files become exactly these (a new checkpoint drops the old one's extra files).
   */
  mode?: 'update' | 'replace';
}

/** Writes `files` (plain names) into `dir` as one all-or-nothing change; see the top of this file. */
export function commitFiles(dir: string, files: Record<string, FileContents>, o: CommitOptions = {}): void {
  const names = Object.keys(files);
  checkNames(names);
  const created = !exists(dir);
  makeDir(dir);
  recoverOutputs(dir);
  requireOwnable(dir, names);
  const owned = ownedFiles(dir);
  const remove = o.mode === 'replace' ? [...owned].filter((n) => !names.includes(n)) : [];
  const tag = uniqueTag();
  const staging = path.join(dir, STAGING_PREFIX + tag);
  const commit = path.join(dir, COMMIT_PREFIX + tag);
  let writing = dir; // named in an error: the file being written when a disk fills up
  try {
    fs.mkdirSync(path.join(staging, FILES_DIR), { recursive: true });
    for (const [name, data] of Object.entries(files)) {
      writing = path.join(dir, name);
      writeAndSync(path.join(staging, FILES_DIR, name), data);
    }
    writing = dir;
    syncDir(path.join(staging, FILES_DIR));
    writeAndSync(path.join(staging, INTENT_NAME), JSON.stringify({ files: names, remove }));
    syncDir(staging);
    fs.renameSync(staging, commit); // the commit point
    syncDir(dir);
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (created) removeIfEmpty(dir);
    ioError(err, writing, 'write');
  }
  // Past the commit point a failure leaves the commit folder for the next writer to finish.
  try {
    finishCommit(dir, commit);
  } catch (err) {
    ioError(err, dir, 'write');
  }
}

/** Writes a folder's set of Rankfold files as a whole (commitFiles in 'replace' mode). */
export function writeDirAtomic(dir: string, files: Record<string, FileContents>): void {
  commitFiles(dir, files, { mode: 'replace' });
}

/** Moves a committed folder's files into place; safe to repeat after a crash at any point. */
function finishCommit(dir: string, commit: string): void {
  const intentFile = path.join(commit, INTENT_NAME);
  let intent: { files: string[]; remove: string[] };
  try {
    intent = JSON.parse(fs.readFileSync(intentFile, 'utf8')) as typeof intent;
    if (!Array.isArray(intent.files) || !Array.isArray(intent.remove)) throw new Error('unexpected contents');
    checkNames([...intent.files, ...intent.remove]);
  } catch (err) {
    throw new UserError(`${intentFile}: an unreadable record of an interrupted write (${(err as Error).message}); move ${commit} away to continue`);
  }
  const owned = ownedFiles(dir);
  // The manifest lists the new files before they land, so none is ever unlisted.
  for (const n of intent.files) owned.add(n);
  writeManifest(dir, owned);
  for (const n of intent.files) {
    const src = path.join(commit, FILES_DIR, n);
    if (exists(src)) fs.renameSync(src, path.join(dir, n));
  }
  for (const n of intent.remove) {
    if (owned.has(n)) fs.rmSync(path.join(dir, n), { force: true });
    owned.delete(n);
  }
  writeManifest(dir, owned);
  // Done: rename first, so that a kill while the folder is being deleted (intent.json may go before
  // the folder does) leaves a staging leftover, which the next writer simply removes, rather than a
  // commit folder without its record.
  const done = path.join(dir, STAGING_PREFIX + path.basename(commit).slice(COMMIT_PREFIX.length));
  fs.renameSync(commit, done);
  fs.rmSync(done, { recursive: true, force: true });
  syncDir(dir);
}

/**
 * The writer's clean-up of `dir`, before it writes there: finishes commits a killed writer made
 * (their files are complete), and removes staging folders and temporary files of writers that are
 * gone. What a live writer holds is left to it. `only` limits the clean-up to one file's temporaries.
 */
export function recoverOutputs(dir: string, only?: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return; // not there yet: nothing to recover
  }
  for (const e of entries) {
    const m = LEFTOVER.exec(e);
    if (!m || processAlive(Number(m[3]))) continue;
    const kind = m[1] ?? m[2];
    if (only !== undefined && !(kind === 'tmp' && e.startsWith(`.${only}.rankfold-tmp-`))) continue;
    try {
      if (kind === 'commit') finishCommit(dir, path.join(dir, e));
      else fs.rmSync(path.join(dir, e), { recursive: true, force: true });
    } catch (err) {
      ioError(err, path.join(dir, e), 'write');
    }
  }
}

/**
 * For readers: refuses a folder whose last write was interrupted after its commit point (some
 * files new, some old). Reading changes nothing; the next writer of the folder finishes the write.
 */
export function requireSettled(dir: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return;
  }
  const pending = entries.find((e) => e.startsWith(COMMIT_PREFIX));
  if (pending) {
    throw new UserError(
      `${dir}: a Rankfold write into this folder was interrupted (${pending} holds its new files), so its files may not belong together; ` +
        'run the command that writes there again (for a training folder: train --resume) to finish it',
    );
  }
}
