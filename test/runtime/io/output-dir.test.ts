// A bad --out is refused up front with a message naming it (train, demo and experiments share this).
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../compiler/errors.ts';
import { ensureOutputDir } from '../../../runtime/io/node-fs.ts';

describe('ensureOutputDir', () => {
  const root = mkdtempSync(join(tmpdir(), 'rankfold-out-'));
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');

  it('creates missing folders, parents included', () => {
    ensureOutputDir(join(root, 'runs', 'a'));
    expect(existsSync(join(root, 'runs', 'a'))).toBe(true);
    ensureOutputDir(join(root, 'runs', 'a')); // existing: fine
  });

  it('refuses a file, or a path through a file, as a UserError naming it', () => {
    expect(() => ensureOutputDir(file)).toThrow(new UserError(`${file}: not a folder (--out names a folder)`));
    expect(() => ensureOutputDir(join(file, 'sub'))).toThrow(/a-file\/sub: cannot create or write this folder \(ENOTDIR\)/);
  });
});
