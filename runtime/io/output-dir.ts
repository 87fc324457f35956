// An output folder held by one run (Node only): created only if missing (and removed again, when
// still empty, if the run fails), locked against a second run writing into it at the same time,
// and cleaned of what killed runs left there before this run writes. spec/reliability.md.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../compiler/errors.ts';
import { makeDir, recoverOutputs } from './atomic.ts';
import { ioError, isErrno, processAlive } from './fs-errors.ts';

export const LOCK_NAME = '.rankfold-lock';
/** A lock file that is not (yet) readable JSON is stale once it is this old. */
const UNREADABLE_LOCK_GRACE_MS = 10_000;

interface LockInfo {
  pid: number;
  host: string;
  command: string;
  started: string;
}

type Holder = { kind: 'gone' } | { kind: 'live'; info?: LockInfo } | { kind: 'stale' };

function readHolder(file: string): Holder {
  let text: string;
  let mtime: number;
  try {
    text = fs.readFileSync(file, 'utf8');
    mtime = fs.statSync(file).mtimeMs;
  } catch (err) {
    if (isErrno(err) && err.code === 'ENOENT') return { kind: 'gone' };
    return ioError(err, file, 'read');
  }
  let info: LockInfo | undefined;
  try {
    const v = JSON.parse(text) as LockInfo;
    if (Number.isInteger(v.pid) && typeof v.host === 'string') info = v;
  } catch {
    // written by a run that died between creating and filling it, or being written right now
  }
  if (!info) return Date.now() - mtime > UNREADABLE_LOCK_GRACE_MS ? { kind: 'stale' } : { kind: 'live' };
  // A lock from another machine (a shared disk) cannot be checked: it stands.
  if (info.host !== os.hostname() || processAlive(info.pid)) return { kind: 'live', info };
  return { kind: 'stale' };
}

function inUse(dir: string, file: string, info?: LockInfo): UserError {
  const who = info
    ? `pid ${info.pid}${info.pid === process.pid ? ' (this process)' : ''}${info.host !== os.hostname() ? ` on ${info.host}` : ''} (${info.command}, started ${info.started})`
    : 'a run that is starting';
  return new UserError(`${dir} is in use by ${who}; wait for it to finish or choose another output folder (if no such run is going, delete ${file})`);
}

/** Takes `dir`'s lock file, or fails naming the run that holds it; a dead run's lock is taken over. */
function acquireLock(dir: string, command: string): string {
  const file = path.join(dir, LOCK_NAME);
  const me: LockInfo = { pid: process.pid, host: os.hostname(), command, started: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, 'wx', 0o644);
      fs.writeSync(fd, JSON.stringify(me) + '\n');
      return file;
    } catch (err) {
      if (!isErrno(err) || err.code !== 'EEXIST') ioError(err, dir, 'write');
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    const holder = readHolder(file);
    if (holder.kind === 'live') throw inUse(dir, file, holder.info);
    // Stale: read once more just before removing, so a lock another run took meanwhile stands.
    if (holder.kind === 'stale' && readHolder(file).kind === 'stale') fs.rmSync(file, { force: true });
  }
  throw inUse(dir, file);
}

function releaseLock(file: string): void {
  try {
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
    if (info.pid === process.pid) fs.rmSync(file, { force: true });
  } catch {
    // gone already, or not ours: nothing to release
  }
}

export class OutputDir {
  private closed = false;
  private readonly onExit: () => void;

  private constructor(
    /** The folder, as given. */
    readonly dir: string,
    /** The outermost folder this run created, removed on failure if still empty. */
    private readonly created: string | undefined,
    private readonly lockFile: string,
  ) {
    // A run that ends through process.exit or an uncaught error still frees its folder; a killed
    // one leaves the lock, which the next run takes over (its pid is gone).
    this.onExit = () => releaseLock(this.lockFile);
    process.on('exit', this.onExit);
  }

  /**
   * Opens `dir` for a run of `command` (e.g. "rankfold train"): refuses a path that is a file or
   * cannot be written, creates what is missing, takes the lock, and finishes or removes what killed
   * writers left (recoverOutputs) in it and in `subfolders`.
   */
  static open(dir: string, command: string, subfolders: string[] = []): OutputDir {
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: not a folder (--out names a folder)`);
    let created: string | undefined;
    for (let p = path.resolve(dir); !fs.existsSync(p); p = path.dirname(p)) created = p;
    makeDir(dir);
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch (err) {
      ioError(err, dir, 'write');
    }
    const lock = acquireLock(dir, command);
    const out = new OutputDir(dir, created, lock);
    try {
      recoverOutputs(dir);
      for (const sub of subfolders) recoverOutputs(path.join(dir, sub));
    } catch (err) {
      out.close({ failed: true });
      throw err;
    }
    return out;
  }

  /** Frees the folder; after a failure, removes the folders this run created if they are empty. */
  close(o: { failed: boolean }): void {
    if (this.closed) return;
    this.closed = true;
    process.off('exit', this.onExit);
    releaseLock(this.lockFile);
    if (!o.failed || this.created === undefined) return;
    for (let p = path.resolve(this.dir); ; p = path.dirname(p)) {
      try {
        fs.rmdirSync(p); // only succeeds on an empty folder
      } catch {
        return;
      }
      if (p === this.created) return;
    }
  }
}
