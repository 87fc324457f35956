// File-system failures in words (Node only). Every read and write of the runtime turns the errno
// codes it can meet into one plain line naming the path, so a read-only disk says "read-only file
// system" (not ENOENT), a full disk says so, and a file-size limit names the limit.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../compiler/errors.ts';

export type IoAction = 'read' | 'write' | 'create';

/** The soft RLIMIT_FSIZE (`ulimit -f`) in bytes, or undefined when unlimited or unknown (non-Linux). */
export function fileSizeLimit(): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Max file size\s+(\S+)/m.exec(text);
  if (!m || m[1] === 'unlimited') return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : undefined;
}

/** Whether a process with this id runs (on this machine). EPERM: it runs, as another user. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function isErrno(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}

/** One line for an errno failure on `file`. */
export function describeIoError(err: NodeJS.ErrnoException, file: string, action: IoAction): string {
  const what = { read: 'cannot read it', write: 'cannot write it', create: 'cannot create it' }[action];
  switch (err.code) {
    case 'ENOENT':
      return `${file}: no such file or folder`;
    case 'EISDIR':
      return `${file}: is a folder, expected a file`;
    case 'ENOTDIR':
      return `${file}: a part of this path is a file, not a folder`;
    case 'EACCES':
    case 'EPERM':
      return `${file}: permission denied (${what})`;
    case 'EROFS':
      return `${file}: read-only file system (${what})`;
    case 'ENOSPC':
      return `${file}: no space left on the device`;
    case 'EDQUOT':
      return `${file}: disk quota exceeded`;
    case 'EFBIG': {
      const limit = fileSizeLimit();
      return limit !== undefined
        ? `${file}: file too large: the file size limit (ulimit -f) is ${limit} bytes`
        : `${file}: file too large for this file system`;
    }
    case 'ERR_FS_FILE_TOO_LARGE':
      return `${file}: too large to read into memory at once`;
    case 'EMFILE':
    case 'ENFILE':
      return `${file}: too many open files`;
    case 'ELOOP':
      return `${file}: too many symbolic links`;
    case 'ENAMETOOLONG':
      return `${file}: name too long`;
    default:
      return `${file}: ${err.message}`;
  }
}

/** Rethrows an errno failure as a UserError naming `file`; anything else (a bug) unchanged. */
export function ioError(err: unknown, file: string, action: IoAction): never {
  if (isErrno(err)) throw new UserError(describeIoError(err, file, action));
  throw err;
}

/**
 * Why a folder cannot be created. Node's recursive mkdir reports ENOENT when the real cause is a
 * read-only or forbidden parent, so the nearest existing ancestor is asked directly.
 */
export function createFailure(dir: string, err: NodeJS.ErrnoException): UserError {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.code === 'EROFS' || err.code === 'EACCES' || err.code === 'EPERM') {
    let parent = path.dirname(path.resolve(dir));
    while (!fs.existsSync(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
    try {
      if (!fs.statSync(parent).isDirectory()) return new UserError(`${dir}: cannot create this folder: ${parent} is a file, not a folder`);
      fs.accessSync(parent, fs.constants.W_OK);
    } catch (inner) {
      if (isErrno(inner)) return new UserError(`${dir}: cannot create this folder: ${describeIoError(inner, parent, 'write')}`);
    }
  }
  return new UserError(`${dir}: cannot create this folder: ${describeIoError(err, dir, 'create')}`);
}

/**
 * Why a WebGPU adapter cannot run under this process's file-size limit, or undefined. CPU Vulkan
 * drivers (Mesa's lavapipe) keep GPU memory in memory files (memfd), which `ulimit -f` also limits:
 * growing one past the limit fails, the driver does not check, and the process dies with SIGBUS
 * ("Bus error") at the first large allocation. Hardware drivers allocate device memory otherwise.
 */
export function gpuFileSizeLimitProblem(adapterName: string, limit = fileSizeLimit()): string | undefined {
  if (limit === undefined || !/llvmpipe|lavapipe|swiftshader|software/i.test(adapterName)) return undefined;
  return (
    `the file size limit (ulimit -f) is ${limit} bytes, and the WebGPU adapter ${adapterName.split(':')[0]} is a CPU driver that keeps GPU memory ` +
    'in memory files under that limit: an allocation past it would kill the process with a Bus error. Raise the limit (ulimit -f unlimited) or use --backend interp'
  );
}

/** Throws gpuFileSizeLimitProblem's reason as a UserError; call right after opening the device. */
export function requireGpuFileSizeLimit(adapterName: string): void {
  const problem = gpuFileSizeLimitProblem(adapterName);
  if (problem) throw new UserError(problem);
}
