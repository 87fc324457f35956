// File-system failures in words (runtime/io/fs-errors.ts). A read-only disk, a full one or a
// file-size limit cannot be made portably in a test, so the errno objects Node throws are built
// here; `ulimit -f` is real, in a child shell.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { describeIoError, fileSizeLimit, gpuFileSizeLimitProblem, processAlive } from '../../../runtime/io/fs-errors.ts';

function errno(code: string, message = `${code}: something`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('describeIoError', () => {
  it('says what each failure means, naming the path', () => {
    const cases: [string, string][] = [
      ['EROFS', 'out/x: read-only file system (cannot write it)'],
      ['EACCES', 'out/x: permission denied (cannot write it)'],
      ['ENOSPC', 'out/x: no space left on the device'],
      ['EDQUOT', 'out/x: disk quota exceeded'],
      ['ENOENT', 'out/x: no such file or folder'],
      ['EISDIR', 'out/x: is a folder, expected a file'],
      ['ENOTDIR', 'out/x: a part of this path is a file, not a folder'],
      ['EMFILE', 'out/x: too many open files'],
      ['EWHATEVER', 'out/x: EWHATEVER: something'],
    ];
    for (const [code, text] of cases) expect(describeIoError(errno(code), 'out/x', 'write')).toBe(text);
    expect(describeIoError(errno('EACCES'), 'in/y', 'read')).toBe('in/y: permission denied (cannot read it)');
  });

  it('a file-size limit is named with its value', () => {
    const limit = fileSizeLimit();
    const text = describeIoError(errno('EFBIG'), 'out/x', 'write');
    expect(text).toBe(limit === undefined ? 'out/x: file too large for this file system' : `out/x: file too large: the file size limit (ulimit -f) is ${limit} bytes`);
  });
});

describe('fileSizeLimit', () => {
  it('reads the soft limit of `ulimit -f` (in a child shell: 1024-byte blocks)', () => {
    if (process.platform !== 'linux') return;
    const script = `import { fileSizeLimit } from ${JSON.stringify(new URL('../../../runtime/io/fs-errors.ts', import.meta.url).pathname)}; console.log(String(fileSizeLimit()));`;
    const run = (ulimit: string) => execFileSync('bash', ['-c', `ulimit -f ${ulimit}; exec "${process.execPath}" --import tsx --input-type=module -e '${script}'`], { encoding: 'utf8' }).trim();
    expect(run('100')).toBe('102400');
    expect(run('unlimited')).toBe('undefined');
  });
});

describe('gpuFileSizeLimitProblem', () => {
  it('refuses a CPU Vulkan driver under a file-size limit, naming the limit and the way out', () => {
    expect(gpuFileSizeLimitProblem('llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)', 102400)).toBe(
      'the file size limit (ulimit -f) is 102400 bytes, and the WebGPU adapter llvmpipe is a CPU driver that keeps GPU memory in memory files under that limit: ' +
        'an allocation past it would kill the process with a Bus error. Raise the limit (ulimit -f unlimited) or use --backend interp',
    );
    expect(gpuFileSizeLimitProblem('llvmpipe: Mesa', undefined)).toBeUndefined();
    expect(gpuFileSizeLimitProblem('NVIDIA GeForce RTX 4090', 102400)).toBeUndefined();
  });
});

describe('processAlive', () => {
  it('tells a running process from a gone one', () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(99999999)).toBe(false);
    expect(processAlive(0)).toBe(false);
  });
});
