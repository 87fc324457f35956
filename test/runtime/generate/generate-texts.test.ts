// generateTexts on Hugging Face model folders (interpreter): text streamed piece by piece equals one
// decode of the ids (no split characters, real Qwen2.5 tokenizer), generation stops at any of the
// folder's eos ids, chat prompts come from the template, and a padded vocabulary samples only the
// tokenizer's ids.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFolderTokenizer } from '../../../runtime/data/node-files.ts';
import { generateTexts, promptIds } from '../../../runtime/generate/generate-texts.ts';
import { Generator } from '../../../runtime/generate/generator.ts';
import { ModelFolder } from '../../../runtime/io/model-folder.ts';
import { loadFolderSpec, readFolderWeights } from '../../../runtime/model/folder-model.ts';
import { stripAdapters } from '../../../runtime/adapters/merge-model.ts';
import { BYTE_TOKENS, tmpDir, writeTinyLlamaFolder } from '../../helpers/tiny-hf-model.ts';

const QWEN_IDS = 151665;

function setEos(dir: string, eos: number[]): void {
  fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: eos }));
}

describe('generateTexts --model', () => {
  it('streams whole characters with the real Qwen2.5 tokenizer, keeps to its ids, and stops at any eos id', async () => {
    const dir = tmpDir('gen-qwen');
    const model = await writeTinyLlamaFolder(path.join(dir, 'model'), { vocab: 151936, tokenizer: 'qwen2_5', tie: true, scale: 1 });
    const messages = [{ role: 'user', content: '你好, wie geht’s? 😀' }];
    const pieces: string[] = [];
    const [first] = await generateTexts({ model, messages, maxNewTokens: 12, backend: 'interp', onText: (t) => pieces.push(t) });
    const tok = loadFolderTokenizer(model);
    expect(first!.ids.every((id) => id < QWEN_IDS)).toBe(true);
    const content = first!.finish === 'stop' ? first!.ids.slice(0, -1) : first!.ids;
    expect(pieces.join('')).toBe(tok.decode(content));
    expect(first!.text).toBe(tok.decode(content));
    expect(pieces.length).toBeGreaterThan(1); // streamed, not written at the end
    // The chat prompt is the template's rendering with the generation prompt.
    expect(tok.decode(promptIds(tok, { messages }))).toMatch(/<\|im_start\|>user\n你好, wie geht’s\? 😀<\|im_end\|>\n<\|im_start\|>assistant\n$/);

    // The first token that has not come before becomes an eos id (second of a list): generation stops there.
    const k = first!.ids.findIndex((id, i) => i > 0 && !first!.ids.slice(0, i).includes(id));
    expect(k).toBeGreaterThan(0);
    setEos(model, [QWEN_IDS - 1, first!.ids[k]!]);
    const [stopped] = await generateTexts({ model, messages, maxNewTokens: 12, backend: 'interp' });
    expect(stopped!.ids).toEqual(first!.ids.slice(0, k + 1));
    expect(stopped!.finish).toBe('stop');
    expect(stopped!.text).toBe(tok.decode(first!.ids.slice(0, k)));
  });

  it('samples only the tokenizer\'s ids when the embedding is padded past them', async () => {
    const dir = tmpDir('gen-pad');
    const model = await writeTinyLlamaFolder(path.join(dir, 'model'), { vocab: 320, scale: 1 });
    setEos(model, [BYTE_TOKENS.imEnd]);
    // A seed whose draws run past 10 tokens before the stop id (sampling draws in id order, one pass).
    const sampling = { temperature: 2, maxNewTokens: 40, seed: 1 };
    const [r] = await generateTexts({ model, prompt: 'hello', backend: 'interp', ...sampling });
    expect(r!.ids.length).toBeGreaterThan(10);
    expect(r!.ids.every((id) => id < BYTE_TOKENS.size)).toBe(true);
    // The same sampling over the whole vocabulary does reach the padding rows (so the check above can fail).
    const folder = await ModelFolder.open(model);
    try {
      const m = stripAdapters(loadFolderSpec(folder).model);
      const prompt = promptIds(loadFolderTokenizer(model), { prompt: 'hello' });
      const gen = await Generator.create(m, [await readFolderWeights(m, folder)], { backend: 'interp', batch: 1, cacheLen: prompt.length + 40 });
      const [all] = await gen.generate([prompt], { ...sampling, stopTokens: [BYTE_TOKENS.imEnd] });
      gen.destroy();
      expect(all!.some((id) => id >= BYTE_TOKENS.size)).toBe(true);
    } finally {
      await folder.close();
    }
  });

  it('refuses a chat without a template, both a prompt and messages, and more tokens than the positions', async () => {
    const dir = tmpDir('gen-bad');
    const model = await writeTinyLlamaFolder(path.join(dir, 'model'), { config: { max_position_embeddings: 16 } });
    const tc = path.join(model, 'tokenizer_config.json');
    const messages = [{ role: 'user', content: 'hi' }];
    await expect(generateTexts({ model, prompt: 'hi', messages, maxNewTokens: 2, backend: 'interp' })).rejects.toThrow(/a prompt or chat messages, not both/);
    await expect(generateTexts({ model, prompt: 'hello world', maxNewTokens: 8, backend: 'interp' })).rejects.toThrow(/prompt \(11 tokens\) \+ 8 new tokens exceeds the 16 positions/);
    const cfg = JSON.parse(fs.readFileSync(tc, 'utf8')) as Record<string, unknown>;
    delete cfg.chat_template;
    fs.writeFileSync(tc, JSON.stringify(cfg));
    await expect(generateTexts({ model, messages, maxNewTokens: 2, backend: 'interp' })).rejects.toThrow(/has no chat template/);
  });
});
