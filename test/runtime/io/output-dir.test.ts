// Output folders held by a run (runtime/io/output-dir.ts): a bad --out refused up front, created
// only when missing and removed again when a failed run leaves it empty, one run at a time (the
// lock), stale locks of dead runs taken over, and what killed writers left recovered on open.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../compiler/errors.ts';
import { MANIFEST_NAME, writeDirAtomic } from '../../../runtime/io/atomic.ts';
import { ensureOutputDir } from '../../../runtime/io/node-fs.ts';
import { LOCK_NAME, OutputDir } from '../../../runtime/io/output-dir.ts';

const DEAD = 99999999;
const root = fs.mkdtempSync(join(tmpdir(), 'rankfold-out-'));
const lockOf = (dir: string, info: object) => fs.writeFileSync(join(dir, LOCK_NAME), JSON.stringify(info));

describe('ensureOutputDir', () => {
  const file = join(root, 'a-file');
  fs.writeFileSync(file, 'x');

  it('creates missing folders, parents included', () => {
    ensureOutputDir(join(root, 'runs', 'a'));
    expect(fs.existsSync(join(root, 'runs', 'a'))).toBe(true);
    ensureOutputDir(join(root, 'runs', 'a')); // existing: fine
  });

  it('refuses a file, or a path through a file, as a UserError naming it', () => {
    expect(() => ensureOutputDir(file)).toThrow(new UserError(`${file}: not a folder (--out names a folder)`));
    expect(() => ensureOutputDir(join(file, 'sub'))).toThrow(new UserError(`${join(file, 'sub')}: cannot create this folder: ${file} is a file, not a folder`));
  });
});

describe('OutputDir', () => {
  it('creates a missing folder, and a failed run that wrote nothing removes what it created', () => {
    const out = join(root, 'new', 'deep', 'out');
    const held = OutputDir.open(out, 'rankfold test');
    expect(fs.readdirSync(out)).toEqual([LOCK_NAME]);
    held.close({ failed: true });
    expect(fs.existsSync(join(root, 'new'))).toBe(false);
    // A folder that existed stays, empty or not; a successful run keeps what it created.
    fs.mkdirSync(join(root, 'kept'));
    OutputDir.open(join(root, 'kept'), 'rankfold test').close({ failed: true });
    expect(fs.readdirSync(join(root, 'kept'))).toEqual([]);
    OutputDir.open(join(root, 'made'), 'rankfold test').close({ failed: false });
    expect(fs.readdirSync(join(root, 'made'))).toEqual([]);
  });

  it('a failed run that wrote something keeps it', () => {
    const out = join(root, 'partial');
    const held = OutputDir.open(out, 'rankfold test');
    writeDirAtomic(out, { 'loss.csv': 'step\n' });
    held.close({ failed: true });
    expect(fs.readdirSync(out).sort()).toEqual([MANIFEST_NAME, 'loss.csv']);
  });

  it('one run at a time: a second one is told which pid holds the folder', () => {
    const out = join(root, 'busy');
    const held = OutputDir.open(out, 'rankfold train');
    expect(() => OutputDir.open(out, 'rankfold train')).toThrow(new RegExp(`^${out} is in use by pid ${process.pid} \\(this process\\) \\(rankfold train, started .*\\); wait for it to finish or choose another output folder \\(if no such run is going, delete .*${LOCK_NAME}\\)$`));
    held.close({ failed: false });
    expect(fs.readdirSync(out)).toEqual([]);
    OutputDir.open(out, 'rankfold train').close({ failed: false });
  });

  it('takes over the lock of a dead run; a lock from another machine or one being written stands', () => {
    const out = join(root, 'stale');
    fs.mkdirSync(out);
    lockOf(out, { pid: DEAD, host: os.hostname(), command: 'rankfold train', started: 'yesterday' });
    const held = OutputDir.open(out, 'rankfold train');
    expect(JSON.parse(fs.readFileSync(join(out, LOCK_NAME), 'utf8')).pid).toBe(process.pid);
    held.close({ failed: false });

    lockOf(out, { pid: DEAD, host: 'elsewhere', command: 'rankfold train', started: 'now' });
    expect(() => OutputDir.open(out, 'rankfold train')).toThrow(/is in use by pid 99999999 on elsewhere \(rankfold train/);
    fs.writeFileSync(join(out, LOCK_NAME), ''); // a run between creating and filling its lock
    expect(() => OutputDir.open(out, 'rankfold train')).toThrow(/is in use by a run that is starting/);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(join(out, LOCK_NAME), old, old); // ...that died there long ago
    OutputDir.open(out, 'rankfold train').close({ failed: false });
  });

  it('finishes a commit a killed run left, in the folder and in the named subfolders', () => {
    const out = join(root, 'recover');
    const commit = join(out, 'checkpoint', `.rankfold-commit-${DEAD}-00000000`);
    fs.mkdirSync(join(commit, 'files'), { recursive: true });
    fs.writeFileSync(join(commit, 'files', 'trainer_state.json'), '{}');
    fs.writeFileSync(join(commit, 'intent.json'), JSON.stringify({ files: ['trainer_state.json'], remove: [] }));
    fs.writeFileSync(join(out, `.rankfold-staging-${DEAD}-00000000`), '');
    OutputDir.open(out, 'rankfold train', ['checkpoint']).close({ failed: false });
    expect(fs.readdirSync(out).sort()).toEqual(['checkpoint']);
    expect(fs.readdirSync(join(out, 'checkpoint')).sort()).toEqual([MANIFEST_NAME, 'trainer_state.json']);
  });
});
