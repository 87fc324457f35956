// runTrainJob on Hugging Face model folders (tiny llama-type, interpreter): the spec, weights and
// tokenizer come from the folder; chat data reaches the loss through the assistant-only masks; the
// adapter records the base as PEFT does; mismatched tokenizers and conflicting options are refused.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../../compiler/compile.ts';
import { UserError } from '../../../compiler/errors.ts';
import { stripAdapters } from '../../../runtime/adapters/merge-model.ts';
import { packPadded, tokenizeExample } from '../../../runtime/data/dataset.ts';
import { loadExamplesFile, loadFolderTokenizer } from '../../../runtime/data/node-files.ts';
import { createExecutor } from '../../../runtime/exec/create.ts';
import { ModelFolder } from '../../../runtime/io/model-folder.ts';
import { feedTokens } from '../../../runtime/model/feeds.ts';
import { loadFolderSpec, readFolderWeights } from '../../../runtime/model/folder-model.ts';
import { setWeights } from '../../../runtime/model/weights.ts';
import { runTrainJob } from '../../../runtime/train/train-job.ts';
import { IGNORE_INDEX } from '../../../runtime/data/tokenized.ts';
import { BYTE_TOKENS, tinyLlamaConfig, tmpDir, writeChatJsonl, writeTinyLlamaFolder } from '../../helpers/tiny-hf-model.ts';
import { writeTokenizerFolder } from '../../helpers/hf-tokenizers.ts';
import { checkTokenizerFits, tokenizerFor } from '../../../runtime/data/job-data.ts';
import { loadSpec, specForModelType } from '../../../runtime/model/load-spec.ts';

/** The base model's mean loss over the labelled tokens of the rows (the interpreter's eval graph). */
async function baseLoss(dir: string, ids: Int32Array, labels: Int32Array, batch: number, seq: number): Promise<number> {
  const folder = await ModelFolder.open(dir);
  try {
    const model = stripAdapters(loadFolderSpec(folder).model);
    const exec = await createExecutor(compile(model, { mode: 'eval', batch, seq }), { backend: 'interp' });
    setWeights(exec, await readFolderWeights(model, folder));
    feedTokens(exec, ids, batch, seq, labels);
    exec.run();
    return (await exec.read('loss'))[0]!;
  } finally {
    await folder.close();
  }
}

describe('runTrainJob --model (a Hugging Face folder)', () => {
  it('trains on chat JSONL with the loss on the assistant turns only, from sharded bf16 weights', async () => {
    const dir = tmpDir('train-chat');
    const model = await writeTinyLlamaFolder(path.join(dir, 'model'), { maxShardSize: 4000 });
    expect(fs.existsSync(path.join(model, 'model.safetensors.index.json'))).toBe(true);
    const data = writeChatJsonl(dir, 4);
    const out = path.join(dir, 'out');
    const lines: string[] = [];
    const r = await runTrainJob({ model, data, out, backend: 'interp', batch: 4, seq: 64, steps: 1, lr: 1e-3, evalFraction: 0, evalEvery: 0, reporter: { info: (l) => lines.push(l) } });
    expect(lines.join('\n')).toMatch(/spec: +\S*dsl-examples\/llama\.rf/);
    expect(lines.join('\n')).toContain(`tokenizer hf:${model}`);

    // The first step's loss is the base model's (B = 0) over exactly the assistant tokens.
    const tok = loadFolderTokenizer(model);
    const rows = packPadded(loadExamplesFile(data).map((ex) => tokenizeExample(tok, ex)), 64, { padId: tok.pad ?? 0 });
    const masked = rows.labels.filter((l) => l !== IGNORE_INDEX);
    expect(masked.length).toBeGreaterThan(0);
    expect(masked.length).toBeLessThan(rows.labels.filter((_, i) => rows.ids[i] !== BYTE_TOKENS.endoftext).length / 2);
    // The learned span of each row ends with <|im_end|> (the end of the assistant turn).
    expect([...masked].filter((l) => l === BYTE_TOKENS.imEnd)).toHaveLength(4);
    const expected = await baseLoss(model, rows.ids, rows.labels, 4, 64);
    expect(r.history[0]!.loss).toBeCloseTo(expected, 4);
    const unmasked = await baseLoss(model, rows.ids, rows.ids, 4, 64);
    expect(Math.abs(unmasked - expected)).toBeGreaterThan(0.05);

    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ base_model_name_or_path: 'tests/tiny-llama', task_type: 'CAUSAL_LM', target_modules: ['q_proj', 'v_proj'], peft_type: 'LORA' });
  });

  it('tokenizes prompt/completion lines with the folder tokenizer (single-file f32), recording the folder when config.json has no _name_or_path', async () => {
    const dir = tmpDir('train-pc');
    const model = await writeTinyLlamaFolder(path.join(dir, 'model'), { dtype: 'F32', config: { _name_or_path: '' } });
    const data = path.join(dir, 'pc.jsonl');
    fs.writeFileSync(data, Array.from({ length: 6 }, (_, i) => JSON.stringify({ prompt: `q${i}: `, completion: `a${i}` })).join('\n'));
    const out = path.join(dir, 'out');
    const r = await runTrainJob({ model, data, out, backend: 'interp', batch: 2, seq: 16, steps: 2, evalEvery: 0 });
    expect(r.history).toHaveLength(2);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8'))).toMatchObject({ base_model_name_or_path: model });
    const state = JSON.parse(fs.readFileSync(path.join(out, 'checkpoint', 'trainer_state.json'), 'utf8')) as { extra: Record<string, unknown> };
    expect(state.extra).toMatchObject({ model, tokenizer: `hf:${model}` });
  });

  it('refuses conflicting options and tokenizers that are not the model\'s', async () => {
    const dir = tmpDir('train-bad');
    const model = await writeTinyLlamaFolder(path.join(dir, 'model'), { vocab: 1000 });
    const data = writeChatJsonl(dir, 2);
    const base = { model, data, backend: 'interp' as const, steps: 1, batch: 1, seq: 32 };
    await expect(runTrainJob({ ...base, out: path.join(dir, 'a'), weights: 'w.safetensors' })).rejects.toThrow(/--weights cannot be used with --model/);
    // 1000 rows for a 259-id tokenizer: far more than the padding a checkpoint adds.
    await expect(runTrainJob({ ...base, out: path.join(dir, 'b') })).rejects.toThrow(/has 259 ids but .* has a vocabulary of 1000: 741 ids more than the tokenizer knows, beyond the padding a checkpoint adds \(at most 128\)/);
    // A tokenizer with more ids than the model.
    await expect(runTrainJob({ ...base, out: path.join(dir, 'c'), tokenizer: 'gpt2' })).rejects.toThrow(/tokenizer gpt2 has 50257 ids but .* has a vocabulary of 1000/);
    expect(fs.existsSync(path.join(dir, 'b'))).toBe(false);
    const other = await writeTinyLlamaFolder(path.join(dir, 'qwen'), { tokenizer: 'none', config: { model_type: 'qwen9' } });
    await expect(runTrainJob({ ...base, model: other, out: path.join(dir, 'd') })).rejects.toThrow(UserError);
    await expect(runTrainJob({ ...base, model: other, out: path.join(dir, 'd') })).rejects.toThrow(/config\.json: model_type "qwen9" is not supported \(supported: llama, qwen2, mistral, phi3, gemma, gpt2; a spec file given on the command line overrides\)/);
    // Tensors the spec does not read (Qwen2's q/k/v biases under the Llama spec) are refused, not dropped.
    const biased = await writeTinyLlamaFolder(path.join(dir, 'biased'), { extraTensors: [0, 1].map((i) => ({ name: `model.layers.${i}.self_attn.q_proj.bias`, shape: [16] })) });
    await expect(runTrainJob({ ...base, model: biased, out: path.join(dir, 'e') })).rejects.toThrow(
      /biased: 2 tensors of the folder are not in \S*llama\.rf \(model\.layers\.0\.self_attn\.q_proj\.bias, model\.layers\.1\.self_attn\.q_proj\.bias\): the spec does not describe this model \(model_type "llama"\)/,
    );
  });

  it('never falls back to GPT-2\'s BPE for a vocabulary that is not GPT-2\'s', async () => {
    const llama = (vocab: number) => loadSpec(specForModelType('llama'), { config: tinyLlamaConfig({ vocab }) });
    await expect(tokenizerFor(llama(151936))).rejects.toThrow(/has a vocabulary of 151936, which no built-in tokenizer fits \(bytes: 256, gpt2: 50257\): pass --tokenizer with the folder of the model's tokenizer.json, or --model/);
    expect((await tokenizerFor(llama(50304))).name).toBe('gpt2'); // nanoGPT's padded GPT-2 vocabulary
    const dir = tmpDir('tok-folder');
    writeTokenizerFolder('qwen2_5', dir);
    const tok = await tokenizerFor(llama(151936), dir);
    expect(tok.vocabSize).toBe(151665);
    expect(checkTokenizerFits(llama(151936), tok)).toBe(151665);
    await expect(tokenizerFor(llama(152064 + 2000), dir)).rejects.toThrow(/beyond the padding a checkpoint adds/);
    await expect(tokenizerFor(llama(320), 'sentencepiece')).rejects.toThrow(/unknown tokenizer "sentencepiece": give bytes, gpt2, or a folder holding tokenizer.json/);
  });
});

