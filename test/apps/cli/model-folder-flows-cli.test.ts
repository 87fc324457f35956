// The --model forms of train, generate, merge, unmerge and verify as the user runs them (through
// main(), in-process; check and compile --model: model-folder-cli.test.ts): a tiny llama-type Hugging Face folder (bf16 shards with an index, or one f32
// file) in, adapters and model folders out, text streamed to stdout.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../../helpers/cli.ts';
import { generateTexts } from '../../../runtime/generate/generate-texts.ts';
import { readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { ModelFolder } from '../../../runtime/io/model-folder.ts';
import { writeModelFolder } from '../../../runtime/io/model-folder-write.ts';
import { conformanceCase } from '../../helpers/conformance.ts';
import { gpuTest } from '../../helpers/gpu.ts';
import { tmpDir, writeChatJsonl, writeTinyLlamaFolder } from '../../helpers/tiny-hf-model.ts';

/** Runs the CLI in-process; `writes` are the stdout writes one by one (streaming shows as several). */

async function layout(dir: string): Promise<string[]> {
  const f = await ModelFolder.open(dir);
  try {
    return f.tensors.map((t) => `${t.name}:${t.dtype}:[${t.shape.join(',')}]`).sort();
  } finally {
    await f.close();
  }
}

const QUICK = ['--backend', 'interp', '--steps', '2', '--batch', '2', '--seq', '64', '--eval-every', '0', '--no-progress', '--lr', '1e-2'];

describe('rankfold --model DIR', () => {
  it('trains on chat data, generates with the adapter (streamed), merges into a bf16 folder and unmerges it', async () => {
    const dir = tmpDir('cli-model');
    const model = await writeTinyLlamaFolder(path.join(dir, 'model'), { maxShardSize: 4000 });
    const adapter = path.join(dir, 'adapter');
    const t = await run(['train', '--model', model, '--data', writeChatJsonl(dir), '--out', adapter, ...QUICK]);
    expect(t.err).toBe('');
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/weights: +\S+ \(llama, BF16, \d+ files\)/);
    expect(t.out).toMatch(/done: step 2, loss/);
    expect(JSON.parse(fs.readFileSync(path.join(adapter, 'adapter_config.json'), 'utf8'))).toMatchObject({ base_model_name_or_path: 'tests/tiny-llama', task_type: 'CAUSAL_LM' });

    // generate: the prompt, then the completion written piece by piece as it is generated.
    const g = await run(['generate', '--model', model, '--adapter', adapter, '--prompt', 'add 2 and 1', '--max-new-tokens', '8', '--backend', 'interp']);
    expect(g).toMatchObject({ code: 0, err: '' });
    const [lib] = await generateTexts({ model, adapters: [adapter], prompt: 'add 2 and 1', maxNewTokens: 8, backend: 'interp' });
    expect(g.out).toBe(`add 2 and 1${lib!.text}\n`);
    expect(g.writes.length).toBeGreaterThan(3);
    // --chat: the user message through the chat template; only the reply is printed.
    const c = await run(['generate', '--model', model, '--adapter', adapter, '--chat', '--system', 'Be brief.', '--prompt', 'add 2 and 1', '--max-new-tokens', '8', '--backend', 'interp']);
    const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'add 2 and 1' }];
    const [chat] = await generateTexts({ model, adapters: [adapter], messages, maxNewTokens: 8, backend: 'interp' });
    expect(c.out).toBe(`${chat!.text}\n`);
    const m = await run(['generate', '--model', model, '--adapter', adapter, '--messages', JSON.stringify(messages), '--max-new-tokens', '8', '--backend', 'interp']);
    expect(m.out).toBe(c.out);

    const merged = path.join(dir, 'merged');
    const mg = await run(['merge', '--model', model, '--adapter', adapter, '--out', merged, '--max-shard-size', '4000']);
    expect(mg).toMatchObject({ code: 0, err: '' });
    expect(mg.out).toMatch(new RegExp(`^merged ${adapter} into 4 layers of ${model}; wrote ${merged} \\(\\d+ weight files\\)\\n$`));
    expect(await layout(merged)).toEqual(await layout(model));
    expect(fs.existsSync(path.join(merged, 'model.safetensors.index.json'))).toBe(true);
    // The merged folder is a model folder like any other.
    expect((await run(['generate', '--model', merged, '--prompt', 'add', '--max-new-tokens', '2', '--backend', 'interp'])).code).toBe(0);

    const back = path.join(dir, 'back');
    const um = await run(['unmerge', '--model', model, '--weights', merged, '--adapter', adapter, '--out', back]);
    expect(um).toMatchObject({ code: 0, err: '' });
    expect(await layout(back)).toEqual(await layout(model));
  });

  gpuTest('trains and generates from a single-file f32 folder, and generates from a bf16 one, on WebGPU', async () => {
    const dir = tmpDir('cli-model-gpu');
    const model = await writeTinyLlamaFolder(path.join(dir, 'model'), { dtype: 'F32' });
    const adapter = path.join(dir, 'adapter');
    const t = await run(['train', '--model', model, '--data', writeChatJsonl(dir), '--out', adapter, ...QUICK.filter((a) => a !== '--backend' && a !== 'interp')]);
    expect(t.err).toBe('');
    expect(t.code).toBe(0);
    const g = await run(['generate', '--model', model, '--adapter', adapter, '--chat', '--prompt', 'add 2 and 1', '--max-new-tokens', '6']);
    expect(g).toMatchObject({ code: 0, err: '' });
    const [lib] = await generateTexts({ model, adapters: [adapter], messages: [{ role: 'user', content: 'add 2 and 1' }], maxNewTokens: 6, backend: 'interp' });
    expect(g.out).toBe(`${lib!.text}\n`);
    // A sharded bf16 folder: its weights go to the device as stored (16-bit), with the same tokens.
    const bf16 = await writeTinyLlamaFolder(path.join(dir, 'bf16'), { maxShardSize: 4000 });
    const b = await run(['generate', '--model', bf16, '--prompt', 'add 2 and 1', '--max-new-tokens', '6']);
    expect(b).toMatchObject({ code: 0, err: '' });
    const [ref] = await generateTexts({ model: bf16, prompt: 'add 2 and 1', maxNewTokens: 6, backend: 'interp' });
    expect(b.out).toBe(`add 2 and 1${ref!.text}\n`);
  });

  it('verifies a reference case against its base in another (sharded) model folder', async () => {
    const dir = tmpDir('cli-verify');
    const caseDir = conformanceCase('llama_qv_r4');
    const file = readSafetensorsFile(path.join(caseDir, 'model.safetensors'));
    const sources = file.names.map((name) => ({ name, dtype: 'F32' as const, shape: file.info(name).shape, read: async () => ({ dtype: 'F32' as const, shape: file.info(name).shape, bytes: file.raw(name) }) }));
    const sharded = path.join(dir, 'base');
    await writeModelFolder(sharded, sources, { config: fs.readFileSync(path.join(caseDir, 'config.json'), 'utf8'), maxShardSize: 20000 });
    expect(fs.existsSync(path.join(sharded, 'model.safetensors.index.json'))).toBe(true);
    const v = await run(['verify', caseDir, '--model', sharded, '--backend', 'interp']);
    expect(v.err).toBe('');
    expect(v.out).toMatch(/all \d+ checks pass/);
    expect(v.code).toBe(0);
  });

  it('says what is missing or conflicting in one line', async () => {
    const dir = tmpDir('cli-model-bad');
    const model = await writeTinyLlamaFolder(path.join(dir, 'model'));
    expect(await run(['train', '--data', 'x.jsonl', '--out', path.join(dir, 'o')])).toMatchObject({ code: 1, err: 'rankfold: give a spec file or --model with a Hugging Face model folder\n' });
    expect((await run(['generate', '--model', model, '--weights', 'w.safetensors', '--prompt', 'a', '--backend', 'interp'])).err).toBe(`rankfold: --weights cannot be used with --model: the base weights are the folder's (${model})\n`);
    expect((await run(['generate', '--model', model, '--chat', '--backend', 'interp'])).err).toBe('rankfold: --chat needs --prompt (the user message)\n');
    expect((await run(['merge', '--model', path.join(dir, 'nope'), '--adapter', 'a', '--out', 'o'])).err).toBe(`rankfold: ${path.join(dir, 'nope')}: no such model folder\n`);
    fs.rmSync(path.join(model, 'tokenizer.json'));
    expect((await run(['generate', '--model', model, '--prompt', 'a', '--backend', 'interp'])).err).toBe(`rankfold: ${model}: no tokenizer.json\n`);
  });
});
