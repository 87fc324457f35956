import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { recoverDir, writeDirAtomic, writeFileAtomic } from '../../../runtime/io/atomic.ts';
import { readAdapterDir, readSafetensorsFile, writeAdapterDir, writeSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { makePeftConfig } from '../../../runtime/io/peft.ts';
import { UserError } from '../../../compiler/errors.ts';

const made: string[] = [];
function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rankfold-io-'));
  made.push(d);
  return d;
}
afterEach(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('atomic writes', () => {
  it('writes a file through a temp name and leaves nothing else behind', () => {
    const d = tmpdir();
    const f = path.join(d, 'a.txt');
    writeFileAtomic(f, 'one');
    writeFileAtomic(f, new TextEncoder().encode('two'));
    expect(fs.readFileSync(f, 'utf8')).toBe('two');
    expect(fs.readdirSync(d)).toEqual(['a.txt']);
  });

  it('replaces a directory as a whole', () => {
    const d = tmpdir();
    const ck = path.join(d, 'ckpt');
    writeDirAtomic(ck, { 'a.json': '{"v":1}', 'stale.bin': new Uint8Array([1]) });
    writeDirAtomic(ck, { 'a.json': '{"v":2}' });
    expect(fs.readdirSync(ck)).toEqual(['a.json']);
    expect(fs.readFileSync(path.join(ck, 'a.json'), 'utf8')).toBe('{"v":2}');
    expect(fs.readdirSync(d)).toEqual(['ckpt']);
    expect(() => writeDirAtomic(ck, { '../escape': 'x' })).toThrow(UserError);
  });

  it('recovers from a write that died between the two renames, and drops stale temp folders', () => {
    const d = tmpdir();
    const ck = path.join(d, 'ckpt');
    writeDirAtomic(ck, { 'a.json': 'old' });
    fs.renameSync(ck, `${ck}.old-dead`);
    fs.mkdirSync(`${ck}.tmp-dead`);
    fs.writeFileSync(path.join(`${ck}.tmp-dead`, 'a.json'), 'half');
    recoverDir(ck);
    expect(fs.readFileSync(path.join(ck, 'a.json'), 'utf8')).toBe('old');
    expect(fs.readdirSync(d)).toEqual(['ckpt']);
  });

  it('writes and reads adapters and safetensors files through node-fs', () => {
    const d = tmpdir();
    const config = makePeftConfig({ r: 2, lora_alpha: 4, target_modules: ['c_attn'] });
    const A = { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) };
    const B = { shape: [4, 2], data: new Float32Array(8).fill(0.25) };
    writeAdapterDir(path.join(d, 'ad'), { config, tensors: new Map([['h.0.c_attn', { A, B, kind: 'linear' as const }]]), others: new Map() }, { 'trainer_state.json': '{}' });
    expect(fs.readdirSync(path.join(d, 'ad')).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'trainer_state.json']);
    const back = readAdapterDir(path.join(d, 'ad'));
    expect(back.tensors.get('h.0.c_attn')!.A).toEqual(A);
    writeSafetensorsFile(path.join(d, 'x.safetensors'), { ids: { shape: [2], data: new Int32Array([1, 2]) } });
    expect(Array.from(readSafetensorsFile(path.join(d, 'x.safetensors')).getInt32('ids'))).toEqual([1, 2]);
    expect(() => readSafetensorsFile(path.join(d, 'nope.safetensors'))).toThrow(/no such file/);
    expect(() => readAdapterDir(path.join(d, 'nope'))).toThrow(UserError);
    expect(() => readAdapterDir(d)).toThrow(/not a PEFT adapter directory/);
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
    expect(fs.readdirSync(d)).toEqual(['ckpt']);
    fs.writeFileSync(path.join(ck, 'trainer_state.json'), '{"format": "other"}');
    expect(() => readCheckpointDir(ck)).toThrow(/not a Rankfold trainer state/);
    fs.rmSync(path.join(ck, 'optimizer.safetensors'));
    expect(() => readCheckpointDir(ck)).toThrow(/missing optimizer.safetensors/);
  });
});
