// The adapter commands as the user runs them: combine (cat merges to the same weights as merging
// both adapters in turn), unmerge (merge then unmerge gives the base back), generate over adapters
// of different ranks and target modules, train --modules-to-save.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../../helpers/cli.ts';
import { readAdapterDir, readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { runTrainJob } from '../../../runtime/train/train-job.ts';
import { CHAR_GPT, TINY_SET, TINY_SET_FLAGS, tmpDir, writeBase, writeText } from '../../runtime/train/fixtures.ts';
import { maxDiff } from '../../helpers/logits.ts';

/** Every tensor of two safetensors files agrees within tol. */
function sameTensors(fileA: string, fileB: string, tol: number): void {
  const a = readSafetensorsFile(fileA);
  const b = readSafetensorsFile(fileB);
  expect([...a.names].sort()).toEqual([...b.names].sort());
  for (const n of a.names) expect(maxDiff(a.getFloat32(n), b.getFloat32(n)), n).toBeLessThan(tol);
}

describe('rankfold combine, unmerge, generate with many adapters', () => {
  it('works end to end over adapters of different ranks and targets', async () => {
    const dir = tmpDir('cli-adapters');
    const weights = writeBase(dir);
    const data = writeText(dir);
    const mlpSpec = path.join(dir, 'mlp.rf');
    fs.writeFileSync(mlpSpec, fs.readFileSync(CHAR_GPT, 'utf8').replace(/^lora targets .*$/m, 'lora targets ["fc_in", "wte"] (rank = 2, alpha = 2)'));
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    const common = { set: TINY_SET, data, weights, backend: 'interp' as const, batch: 4, seq: 16, steps: 4, lr: 5e-2, warmup: 0, evalEvery: 0 };
    await runTrainJob({ ...common, spec: CHAR_GPT, out: a, rank: 4, alpha: 8, seed: 1 });
    await runTrainJob({ ...common, spec: mlpSpec, out: b, seed: 2 });
    const flags = [...TINY_SET_FLAGS];
    const merge = (w: string, ad: string, out: string) => run(['merge', CHAR_GPT, ...flags, '--weights', w, '--adapter', ad, '--out', out]);

    // combine --method cat == merging both in turn
    const c = path.join(dir, 'c');
    const comb = await run(['combine', a, b, '--weights', '1,1', '--method', 'cat', '--out', c]);
    expect(comb).toMatchObject({ code: 0, err: '' });
    expect(comb.out).toBe(`combined 2 adapters (cat) into 4 modules of rank 6; wrote ${c}\n`);
    expect(readAdapterDir(c).config).toMatchObject({ r: 6, lora_alpha: 6, target_modules: ['fc_in', 'q_proj', 'v_proj', 'wte'] });
    const ma = path.join(dir, 'ma.safetensors');
    const mab = path.join(dir, 'mab.safetensors');
    const mc = path.join(dir, 'mc.safetensors');
    expect((await merge(weights, a, ma)).code).toBe(0);
    expect((await merge(ma, b, mab)).code).toBe(0);
    expect((await merge(weights, c, mc)).code).toBe(0);
    sameTensors(mc, mab, 1e-5);

    // unmerge: merge then unmerge returns the base
    const back = path.join(dir, 'back.safetensors');
    const un = await run(['unmerge', CHAR_GPT, ...flags, '--weights', mab, '--adapter', b, '--out', back]);
    expect(un).toMatchObject({ code: 0, err: '' });
    sameTensors(back, ma, 1e-5);
    const base2 = path.join(dir, 'base2.safetensors');
    expect((await run(['unmerge', CHAR_GPT, ...flags, '--weights', back, '--adapter', a, '--out', base2])).code).toBe(0);
    sameTensors(base2, weights, 1e-5);

    // generate: one base, two adapters of different ranks and targets
    const gen = ['generate', CHAR_GPT, ...flags, '--backend', 'interp', '--prompt', 'ab', '--max-new-tokens', '5', '--weights', weights];
    const both = await run([...gen, '--adapter', a, '--adapter', b]);
    expect(both).toMatchObject({ code: 0, err: '' });
    const lines = both.out.trimEnd().split('\n');
    expect([lines[0], lines[2]]).toEqual([`=== ${a}`, `=== ${b}`]);
    expect((await run([...gen, '--adapter', b])).out).toBe(lines[3] + '\n');
    expect((await run(['generate', CHAR_GPT, ...flags, '--backend', 'interp', '--prompt', 'ab', '--max-new-tokens', '5', '--weights', ma])).out).toBe(lines[1] + '\n');

    // one-line errors
    const bad = await run(['combine', a, b, '--weights', '1', '--out', path.join(dir, 'x')]);
    expect(bad).toMatchObject({ code: 1 });
    expect(bad.err).toBe('rankfold: --weights has 1 values for 2 adapters\n');
    expect((await run(['combine', a, b, '--method', 'linear', '--out', path.join(dir, 'x')])).err).toMatch(/All adapters must have the same r value/);
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
  });
});
