import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../../compiler/errors.ts';
import { HfTokenizer } from '../../../runtime/data/hf-tokenizer.ts';
import { loadFolderTokenizer } from '../../../runtime/data/node-files.ts';
import { StreamDecoder } from '../../../runtime/data/detokenize.ts';
import { ByteTokenizer, stopIdsOf } from '../../../runtime/data/tokenizer.ts';
import { writeTokenizerFolder, vocabTable } from '../../helpers/hf-tokenizers.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-tok-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** GPT-2's bytes_to_unicode: how byte-level BPE vocabularies spell bytes (independent of the library). */
function byteLevel(text: string): string {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const map = new Map<number, string>();
  let n = 0;
  for (let b = 0; b < 256; b++) map.set(b, String.fromCodePoint(printable(b) ? b : 256 + n++));
  return Array.from(new TextEncoder().encode(text), (b) => map.get(b)!).join('');
}

const MULTILINGUAL = 'Hello, world! Grüße aus Köln. 東京とソウル, 北京欢迎你. Ελληνικά, русский, العربية, हिन्दी. 😀👍🏽 tabs\tand\nnewlines  double  spaces 12345 3.14159';

let qwen: HfTokenizer;
let llama: HfTokenizer;
beforeAll(() => {
  qwen = loadFolderTokenizer(writeTokenizerFolder('qwen2_5', path.join(tmp, 'qwen')));
  llama = loadFolderTokenizer(writeTokenizerFolder('llama3_2', path.join(tmp, 'llama')));
});

describe('tokenizer.json through @huggingface/tokenizers', () => {
  it('gives the vocabulary\'s ids for simple words, spaces and newlines (computed from the vocab table)', () => {
    for (const [tok, model] of [[qwen, 'qwen2_5'], [llama, 'llama3_2']] as const) {
      const { vocab } = vocabTable(model);
      expect(tok.encode('Hello world')).toEqual([vocab['Hello'], vocab[byteLevel(' world')]]);
      expect(tok.encode('\n')).toEqual([vocab[byteLevel('\n')]]);
      expect(vocab[byteLevel(' world')]).toBeDefined();
    }
    // The pre-tokenizers differ: Qwen splits digits one by one, Llama-3 in groups of up to three.
    const qv = vocabTable('qwen2_5').vocab;
    const lv = vocabTable('llama3_2').vocab;
    expect(qwen.encode('12345')).toEqual(['1', '2', '3', '4', '5'].map((d) => qv[d]));
    expect(llama.encode('12345')).toEqual([lv['123'], lv['45']]);
    // A CJK word that is one entry of Qwen's vocabulary, spelled in byte-level form.
    expect(qv[byteLevel('你好')]).toBeDefined();
    expect(qwen.encode('你好')).toEqual([qv[byteLevel('你好')]]);
  });

  it('recognizes special tokens in text with the ids of tokenizer.json\'s added_tokens', () => {
    const qa = vocabTable('qwen2_5').added;
    expect(qwen.encode('<|im_start|>user\nhi<|im_end|>')).toEqual([qa.get('<|im_start|>'), ...qwen.encode('user\nhi'), qa.get('<|im_end|>')]);
    const la = vocabTable('llama3_2').added;
    expect(llama.encode('<|eot_id|>')).toEqual([la.get('<|eot_id|>')]);
    expect(qwen.specialIds.has(qa.get('<|im_end|>')!)).toBe(true);
    expect(qwen.decode(qwen.encode('<|im_start|>user\nhi<|im_end|>'), { skipSpecialTokens: true })).toBe('user\nhi');
  });

  it('round-trips multilingual text exactly (no clean-up of spaces before punctuation)', () => {
    for (const tok of [qwen, llama]) {
      expect(tok.decode(tok.encode(MULTILINGUAL))).toBe(MULTILINGUAL);
      expect(tok.decode(tok.encode('a , b . c \'s'))).toBe('a , b . c \'s'); // Llama-3's config asks for clean-up; it would change this
    }
  });

  it('bos from the post-processor, eos from generation_config first, stop ids, pad, vocabulary size', () => {
    const la = vocabTable('llama3_2').added;
    expect(llama.bos).toBe(la.get('<|begin_of_text|>'));
    expect(llama.eos).toBe(128001); // generation_config's first eos, before tokenizer_config's <|eot_id|>
    expect(llama.stopIds).toEqual([128001, 128008, 128009]);
    expect(llama.vocabSize).toBe(128256);
    const qa = vocabTable('qwen2_5').added;
    expect(qwen.bos).toBeUndefined(); // Qwen2 adds no BOS
    expect(qwen.eos).toBe(qa.get('<|im_end|>'));
    expect(qwen.stopIds).toEqual([qa.get('<|im_end|>'), qa.get('<|endoftext|>')]);
    expect(qwen.pad).toBe(qa.get('<|endoftext|>'));
    expect(qwen.vocabSize).toBe(Math.max(...qa.values()) + 1);
    // Without generation_config.json: tokenizer_config's eos_token.
    const bare = loadFolderTokenizer(writeTokenizerFolder('qwen2_5', path.join(tmp, 'bare'), { generation: false }));
    expect(bare.eos).toBe(qa.get('<|im_end|>'));
    expect(stopIdsOf(bare)).toEqual([qa.get('<|im_end|>')]);
  });

  it('refuses ids outside the vocabulary and broken files with errors naming them', () => {
    expect(() => qwen.decode([qwen.vocabSize])).toThrow(/cannot decode id 151665/);
    expect(() => qwen.decode([-1])).toThrow(UserError);
    expect(() => new HfTokenizer({ source: 'x', tokenizerJson: {}, tokenizerConfig: {}, special: { eos: [] } })).toThrow(/x\/tokenizer.json: no "model" section/);
    const d = writeTokenizerFolder('qwen2_5', path.join(tmp, 'badeos'));
    fs.writeFileSync(path.join(d, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|nope|>' }));
    expect(() => loadFolderTokenizer(d)).toThrow(/tokenizer_config.json: eos_token "<\|nope\|>" is not in the vocabulary/);
  });
});

describe('streaming decode', () => {
  function streamAll(tok: { decode(ids: ArrayLike<number>): string }, ids: number[]): string[] {
    const d = new StreamDecoder(tok as never);
    const parts = ids.map((id) => d.push(id));
    parts.push(d.flush());
    return parts;
  }

  it('gives the same text as one decode, never half a character, with real tokenizers', () => {
    for (const tok of [qwen, llama]) {
      const ids = tok.encode(MULTILINGUAL);
      const parts = streamAll(tok, ids);
      expect(parts.join('')).toBe(MULTILINGUAL);
      for (const p of parts) expect(p).not.toContain('\uFFFD');
    }
  });

  it('holds back the bytes of a split character until it completes (byte tokens)', () => {
    const tok = new ByteTokenizer();
    const ids = tok.encode('a😀b');
    const parts = streamAll(tok, ids);
    expect(parts).toEqual(['a', '', '', '', '😀', 'b', '']);
    // A stream that ends mid-character yields the replacement character only at flush.
    const d = new StreamDecoder(tok);
    expect(d.push(0xf0)).toBe('');
    expect(d.push(0x9f)).toBe('');
    expect(d.flush()).toBe('\uFFFD');
    // Invalid bytes followed by text are not held forever.
    const bad = streamAll(tok, [0xff, 0x41, 0x42]);
    expect(bad.join('')).toBe('\uFFFDAB');
  });

  it('long outputs decode in a sliding window and still match one decode', () => {
    const text = MULTILINGUAL.repeat(6);
    const ids = qwen.encode(text);
    expect(streamAll(qwen, ids).join('')).toBe(text);
  });
});
