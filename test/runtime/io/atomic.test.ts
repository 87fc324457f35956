// Atomic outputs (runtime/io/atomic.ts): single files through pid-tagged temporaries, several files
// as one commit that never touches a file Rankfold did not make, recovery by the next writer (and
// only by a writer), and the disk states a kill at each point of a commit leaves.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MANIFEST_NAME, commitFiles, recoverOutputs, requireOwnable, requireSettled, writeDirAtomic, writeFileAtomic } from '../../../runtime/io/atomic.ts';
import { readAdapterDir, readSafetensorsFile, writeAdapterDir, writeSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { makePeftConfig } from '../../../runtime/io/peft.ts';
import { UserError } from '../../../compiler/errors.ts';
import { REPO } from '../train/fixtures.ts';

/** A pid no process can have (above Linux's largest pid_max): a writer that is gone. */
const DEAD = 99999999;

const made: string[] = [];
function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rankfold-io-'));
  made.push(d);
  return d;
}
afterEach(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const ls = (d: string) => fs.readdirSync(d).sort();
const read = (f: string) => fs.readFileSync(f, 'utf8');

/** The disk state of a commit of `files` by a writer that died before moving any of them in. */
function deadCommit(dir: string, files: Record<string, string>, remove: string[] = [], moved: string[] = []): string {
  const commit = path.join(dir, `.rankfold-commit-${DEAD}-0badc0de`);
  fs.mkdirSync(path.join(commit, 'files'), { recursive: true });
  for (const [n, v] of Object.entries(files)) fs.writeFileSync(moved.includes(n) ? path.join(dir, n) : path.join(commit, 'files', n), v);
  fs.writeFileSync(path.join(commit, 'intent.json'), JSON.stringify({ files: Object.keys(files), remove }));
  return commit;
}

describe('writeFileAtomic', () => {
  it('writes a file through a temp name and leaves nothing else behind', () => {
    const d = tmpdir();
    const f = path.join(d, 'a.txt');
    writeFileAtomic(f, 'one');
    writeFileAtomic(f, new TextEncoder().encode('two'));
    expect(read(f)).toBe('two');
    expect(ls(d)).toEqual(['a.txt']);
  });

  it('removes the temp file a killed writer of the same file left, and only that', () => {
    const d = tmpdir();
    const f = path.join(d, 'merged.safetensors');
    const dead = path.join(d, `.merged.safetensors.rankfold-tmp-${DEAD}-12345678`);
    const live = path.join(d, `.merged.safetensors.rankfold-tmp-${process.pid}-12345678`);
    const other = path.join(d, `.other.bin.rankfold-tmp-${DEAD}-12345678`);
    for (const p of [dead, live, other]) fs.writeFileSync(p, 'half');
    writeFileAtomic(f, 'whole');
    expect(ls(d)).toEqual([path.basename(live), 'merged.safetensors', path.basename(other)].sort());
  });

  it('names the real cause of a failure: a folder in the way, a path through a file', () => {
    const d = tmpdir();
    fs.mkdirSync(path.join(d, 'dir'));
    fs.writeFileSync(path.join(d, 'file'), 'x');
    expect(() => writeFileAtomic(path.join(d, 'dir'), 'x')).toThrow(new UserError(`${path.join(d, 'dir')}: is a folder, expected a file`));
    expect(() => writeFileAtomic(path.join(d, 'file', 'x'), 'x')).toThrow(/file: not a folder/);
    expect(ls(d)).toEqual(['dir', 'file']);
  });
});

describe('commitFiles / writeDirAtomic', () => {
  it('replaces the Rankfold files of a folder as a set and keeps every other file', () => {
    const d = tmpdir();
    const ck = path.join(d, 'ckpt');
    fs.mkdirSync(ck);
    fs.writeFileSync(path.join(ck, 'notes.txt'), 'mine');
    writeDirAtomic(ck, { 'a.json': '{"v":1}', 'stale.bin': new Uint8Array([1]) });
    writeDirAtomic(ck, { 'a.json': '{"v":2}' });
    expect(ls(ck)).toEqual([MANIFEST_NAME, 'a.json', 'notes.txt']);
    expect(read(path.join(ck, 'a.json'))).toBe('{"v":2}');
    expect(read(path.join(ck, 'notes.txt'))).toBe('mine');
    expect(JSON.parse(read(path.join(ck, MANIFEST_NAME))).files).toEqual(['a.json']);
    expect(ls(d)).toEqual(['ckpt']);
    expect(() => writeDirAtomic(ck, { '../escape': 'x' })).toThrow(UserError);
    expect(() => writeDirAtomic(ck, { [MANIFEST_NAME]: 'x' })).toThrow(/must be a plain file name/);
  });

  it("'update' mode adds and replaces, keeping the folder's other Rankfold files", () => {
    const d = tmpdir();
    commitFiles(d, { 'loss.csv': 'a' });
    commitFiles(d, { 'loss.svg': 'b', 'adapter.bin': 'c' });
    commitFiles(d, { 'loss.csv': 'a2' });
    expect(ls(d)).toEqual([MANIFEST_NAME, 'adapter.bin', 'loss.csv', 'loss.svg']);
    expect(read(path.join(d, 'loss.csv'))).toBe('a2');
  });

  it('refuses to replace a file it did not write, naming it, and writes nothing', () => {
    const d = tmpdir();
    fs.writeFileSync(path.join(d, 'adapter_config.json'), 'the user\'s');
    const expected = `${d}: adapter_config.json exists but Rankfold did not write it (not in ${MANIFEST_NAME}); Rankfold never replaces files it did not make: move it away or choose another output folder`;
    expect(() => commitFiles(d, { 'adapter_config.json': '{}', 'adapter_model.safetensors': 'w' })).toThrow(new UserError(expected));
    expect(() => requireOwnable(d, ['adapter_config.json'])).toThrow(new UserError(expected));
    expect(ls(d)).toEqual(['adapter_config.json']);
    expect(read(path.join(d, 'adapter_config.json'))).toBe('the user\'s');
  });

  it('an unwritable folder is reported as such, the folder it would have created removed', () => {
    const d = tmpdir();
    const file = path.join(d, 'plain');
    fs.writeFileSync(file, 'x');
    expect(() => commitFiles(path.join(file, 'sub'), { a: 'x' })).toThrow(/plain\/sub: cannot create this folder: .*plain is a file, not a folder/);
  });
});

describe('a commit interrupted at each point', () => {
  const OLD = { 'a.bin': 'old-a', 'b.json': 'old-b' };
  const NEW = { 'a.bin': 'new-a', 'b.json': 'new-b' };
  function folderWithOld(): string {
    const d = tmpdir();
    writeDirAtomic(d, OLD);
    fs.writeFileSync(path.join(d, 'user.txt'), 'mine');
    return d;
  }
  const contents = (d: string) => ({ 'a.bin': read(path.join(d, 'a.bin')), 'b.json': read(path.join(d, 'b.json')) });

  it('killed while staging: readers see the old set, the next writer removes the staging folder', () => {
    const d = folderWithOld();
    const staging = path.join(d, `.rankfold-staging-${DEAD}-0badc0de`);
    fs.mkdirSync(path.join(staging, 'files'), { recursive: true });
    fs.writeFileSync(path.join(staging, 'files', 'a.bin'), 'ne');
    requireSettled(d);
    expect(contents(d)).toEqual(OLD);
    recoverOutputs(d);
    expect(ls(d)).toEqual([MANIFEST_NAME, 'a.bin', 'b.json', 'user.txt']);
    expect(contents(d)).toEqual(OLD);
  });

  for (const moved of [[], ['a.bin'], ['a.bin', 'b.json']]) {
    it(`killed after the commit point with ${moved.length} of 2 files moved: readers refuse and change nothing, the next writer finishes it`, () => {
      const d = folderWithOld();
      const commit = deadCommit(d, NEW, [], moved);
      const before = ls(d);
      expect(() => requireSettled(d)).toThrow(/a Rankfold write into this folder was interrupted .* run the command that writes there again/);
      expect(() => readAdapterDir(d)).toThrow(/was interrupted/);
      expect(ls(d)).toEqual(before);
      recoverOutputs(d);
      expect(fs.existsSync(commit)).toBe(false);
      expect(contents(d)).toEqual(NEW);
      expect(ls(d)).toEqual([MANIFEST_NAME, 'a.bin', 'b.json', 'user.txt']);
      requireSettled(d);
    });
  }

  it('a replace commit removes only the files the manifest lists; a live writer\'s commit is left to it', () => {
    const d = folderWithOld();
    deadCommit(d, { 'a.bin': 'new-a' }, ['b.json']);
    const live = path.join(d, `.rankfold-commit-${process.pid}-0badc0de`);
    fs.mkdirSync(live);
    recoverOutputs(d);
    expect(ls(d)).toEqual([path.basename(live), MANIFEST_NAME, 'a.bin', 'user.txt'].sort());
  });

  it('a real writer killed at random points always leaves the old set or the new set, never a mix', async () => {
    const d = tmpdir();
    const child = path.join(d, 'writer.mjs');
    // Commits generation g of a pair of files forever; the parent kills it at a random moment.
    fs.writeFileSync(
      child,
      `const { commitFiles } = await import(${JSON.stringify(path.join(REPO, 'runtime/io/atomic.ts'))});
       const out = process.argv[2];
       process.send('ready');
       for (let g = 1; ; g++) commitFiles(out, { 'a.bin': String(g).padEnd(200000, '.'), 'b.json': JSON.stringify({ g }) });`,
    );
    const out = path.join(d, 'out');
    for (const delay of [10, 40]) {
      const p = spawn(process.execPath, ['--import', 'tsx', child, out], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      await new Promise((r) => p.once('message', r));
      await new Promise((r) => setTimeout(r, delay));
      p.kill('SIGKILL');
      await new Promise((r) => p.once('exit', r));
      const gen = () => [parseInt(read(path.join(out, 'a.bin')), 10), JSON.parse(read(path.join(out, 'b.json'))).g as number];
      let settled = true;
      try {
        requireSettled(out);
      } catch {
        settled = false;
      }
      if (settled && fs.existsSync(path.join(out, 'b.json'))) expect(new Set(gen()).size).toBe(1);
      // The writer's pid is gone now, so its leftovers are recovered.
      recoverOutputs(out);
      requireSettled(out);
      if (fs.existsSync(path.join(out, 'b.json'))) expect(new Set(gen()).size).toBe(1);
      expect(ls(out).filter((e) => e.startsWith('.rankfold-') && e !== MANIFEST_NAME)).toEqual([]);
    }
  });
});

describe('adapters and safetensors through node-fs', () => {
  it('writes and reads adapters and safetensors files', () => {
    const d = tmpdir();
    const config = makePeftConfig({ r: 2, lora_alpha: 4, target_modules: ['c_attn'] });
    const A = { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) };
    const B = { shape: [4, 2], data: new Float32Array(8).fill(0.25) };
    writeAdapterDir(path.join(d, 'ad'), { config, tensors: new Map([['h.0.c_attn', { A, B, kind: 'linear' as const }]]), others: new Map() }, { 'trainer_state.json': '{}' });
    expect(ls(path.join(d, 'ad'))).toEqual([MANIFEST_NAME, 'adapter_config.json', 'adapter_model.safetensors', 'trainer_state.json']);
    const back = readAdapterDir(path.join(d, 'ad'));
    expect(back.tensors.get('h.0.c_attn')!.A).toEqual(A);
    writeSafetensorsFile(path.join(d, 'x.safetensors'), { ids: { shape: [2], data: new Int32Array([1, 2]) } });
    expect(Array.from(readSafetensorsFile(path.join(d, 'x.safetensors')).getInt32('ids'))).toEqual([1, 2]);
    expect(() => readSafetensorsFile(path.join(d, 'nope.safetensors'))).toThrow(/no such file/);
    expect(() => readSafetensorsFile(d)).toThrow(new UserError(`${d}: is a folder, expected a file`));
    expect(() => readAdapterDir(path.join(d, 'nope'))).toThrow(UserError);
    expect(() => readAdapterDir(d)).toThrow(/not a PEFT adapter directory/);
    expect(() => readAdapterDir(path.join(d, 'x.safetensors'))).toThrow(/a file; an adapter is a folder/);
  });
});

describe('training checkpoints', () => {
  it('round-trips adapter, AdamW moments and trainer state, replacing the previous checkpoint whole', async () => {
    const { readCheckpointDir, writeCheckpointDir } = await import('../../../runtime/io/node-fs.ts');
    const d = tmpdir();
    const config = makePeftConfig({ r: 1, lora_alpha: 2, target_modules: ['q'] });
    const t = (n: number, v: number) => ({ shape: [1, n], data: new Float32Array(n).fill(v) });
    const adapter = { config, tensors: new Map([['m.q', { A: t(3, 1), B: { shape: [2, 1], data: new Float32Array([1, 2]) }, kind: 'linear' as const }]]), others: new Map() };
    const moments = new Map([['base_model.model.m.q.lora_A.weight', { exp_avg: t(3, 0.1), exp_avg_sq: t(3, 0.01) }]]);
    const state = {
      format: 'rankfold-trainer-state' as const,
      version: 1 as const,
      step: 7,
      data_cursor: { seed: 1, epoch: 0, position: 14 },
      rng_state: [1, 2, 3, 4] as [number, number, number, number],
      optimizer: { name: 'adamw' as const, lr: 0.01, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weight_decay: 0.01 },
      loss_history: [{ step: 7, loss: 2.5 }],
    };
    const ck = path.join(d, 'ckpt');
    writeCheckpointDir(ck, { adapter, moments, state: { ...state, step: 1 } });
    writeCheckpointDir(ck, { adapter, moments, state });
    const back = readCheckpointDir(ck);
    expect(back.state).toEqual(state);
    expect(back.moments).toEqual(moments);
    expect(back.adapter.tensors.get('m.q')!.B.data).toEqual(new Float32Array([1, 2]));
    expect(ls(d)).toEqual(['ckpt']);
    fs.writeFileSync(path.join(ck, 'trainer_state.json'), '{"format": "other"}');
    expect(() => readCheckpointDir(ck)).toThrow(/not a Rankfold trainer state/);
    fs.rmSync(path.join(ck, 'optimizer.safetensors'));
    expect(() => readCheckpointDir(ck)).toThrow(/missing optimizer.safetensors/);
  });
});
