import { describe, expect, it } from 'vitest';
import { UserError } from '../../../compiler/errors.ts';
import { Rng, mixSeed } from '../../../runtime/data/rng.ts';
import { ByteTokenizer, loadTokenizer, GPT2_EOS } from '../../../runtime/data/tokenizer.ts';
import {
  IGNORE_INDEX,
  countTargets,
  packConcat,
  packPadded,
  parseJsonl,
  parseText,
  shiftLabels,
  splitHeldOut,
  tokenizeExample,
} from '../../../runtime/data/dataset.ts';
import { BatchLoader, evalBatches } from '../../../runtime/data/loader.ts';

describe('rng', () => {
  it('is deterministic, resumable from its state, and roughly uniform', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xs);
    expect(new Rng(43).nextU32()).not.toBe(xs[0]);
    const state = a.getState();
    const next = [a.next(), a.int(10), a.normal()];
    const c = new Rng(state);
    expect([c.next(), c.int(10), c.normal()]).toEqual(next);
    const counts = new Array(10).fill(0);
    const r = new Rng(1);
    for (let i = 0; i < 20000; i++) counts[r.int(10)]++;
    for (const n of counts) expect(Math.abs(n - 2000)).toBeLessThan(200);
    expect(new Rng(5).permutation(20).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
  });
});

describe('tokenizers', () => {
  it('bytes: ids are UTF-8 bytes', () => {
    const t = new ByteTokenizer();
    expect(t.vocabSize).toBe(256);
    expect(t.encode('hé')).toEqual([104, 0xc3, 0xa9]);
    expect(t.decode(t.encode('héllo → ok'))).toBe('héllo → ok');
    expect(t.decode([0xc3])).toBe('\ufffd'); // a cut multi-byte char does not throw
    expect(() => t.decode([300])).toThrow(UserError);
    expect(new ByteTokenizer({ eos: 10 }).eos).toBe(10);
  });
  it('gpt2: bundled r50k_base vocabulary', async () => {
    const t = await loadTokenizer('gpt2');
    expect(t.vocabSize).toBe(50257);
    expect(t.eos).toBe(GPT2_EOS);
    expect(t.encode('Hello world')).toEqual([15496, 995]);
    expect(t.decode([15496, 995])).toBe('Hello world');
    const s = 'text with <|endoftext|> inside';
    expect(t.encode(s)).not.toContain(GPT2_EOS);
    expect(t.decode(t.encode(s))).toBe(s);
    await expect(loadTokenizer('nope')).rejects.toThrow(UserError);
  });
});

describe('datasets', () => {
  it('parses JSONL with file:line errors', () => {
    const ex = parseJsonl('{"text": "a"}\n\n{"prompt": "p", "completion": "c", "id": 3}\r\n', 'd.jsonl');
    expect(ex).toEqual([{ text: 'a' }, { prompt: 'p', completion: 'c' }]);
    expect(() => parseJsonl('{"text": "a"}\n{"text": ', 'd.jsonl')).toThrow(/^d\.jsonl:2: not valid JSON/);
    expect(() => parseJsonl('{"text": "a"}\n\n[1]', 'd.jsonl')).toThrow(/^d\.jsonl:3: expected a JSON object/);
    expect(() => parseJsonl('{"prompt": "a"}', 'd.jsonl')).toThrow(/^d\.jsonl:1: "prompt" and "completion"/);
    expect(() => parseJsonl('{"text": "a", "prompt": "b", "completion": "c"}', 'd.jsonl')).toThrow(/^d\.jsonl:1: expected \{"text"/);
    expect(() => parseJsonl('{"txt": "a"}', 'd.jsonl')).toThrow(/keys txt/);
    expect(() => parseJsonl('\n\n', 'd.jsonl')).toThrow(/no examples/);
  });
  it('parses plain text as a document, lines or paragraphs', () => {
    expect(parseText('a\r\nb\n\nc\n')).toEqual([{ text: 'a\nb\n\nc\n' }]);
    expect(parseText('a\nb\n\nc\n', 'lines')).toEqual([{ text: 'a' }, { text: 'b' }, { text: 'c' }]);
    expect(parseText('a\nb\n\nc\n', 'paragraphs')).toEqual([{ text: 'a\nb' }, { text: 'c\n' }]);
  });
  it('masks prompt tokens with -100 and learns the completion and eos', () => {
    const t = new ByteTokenizer({ eos: 10 });
    const e = tokenizeExample(t, { prompt: 'ab', completion: 'C' });
    expect(e.ids).toEqual([97, 98, 67, 10]);
    expect(e.labels).toEqual([IGNORE_INDEX, IGNORE_INDEX, 67, 10]);
    expect(tokenizeExample(t, { text: 'hi' }, { appendEos: false })).toEqual({ ids: [104, 105], labels: [104, 105] });
  });
  it('packs into fixed [rows, seqLen] arrays', () => {
    const t = new ByteTokenizer();
    const toks = ['abcde', 'fgh'].map((s) => tokenizeExample(t, { text: s }));
    const rows = packConcat(toks, 3);
    expect(rows.count).toBe(2);
    expect(Array.from(rows.ids)).toEqual([97, 98, 99, 100, 101, 102]);
    const padded = packConcat(toks, 3, { padTail: true, padId: 0 });
    expect(padded.count).toBe(3);
    expect(Array.from(padded.labels.subarray(6))).toEqual([103, 104, IGNORE_INDEX]);
    const pc = [tokenizeExample(t, { prompt: 'x', completion: 'yz' }), tokenizeExample(t, { prompt: 'long prompt', completion: 'q' })];
    const p = packPadded(pc, 4, { padId: 0 });
    expect(Array.from(p.ids.subarray(0, 4))).toEqual([120, 121, 122, 0]);
    expect(Array.from(p.labels.subarray(0, 4))).toEqual([IGNORE_INDEX, 121, 122, IGNORE_INDEX]);
    const left = packPadded(pc, 4, { overflow: 'truncate-left' });
    expect(Array.from(left.labels.subarray(4, 8))).toEqual([IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 113]);
    expect(() => packPadded(pc, 4, { overflow: 'error' })).toThrow(/example 1 has 12 tokens/);
    expect(countTargets(p.labels)).toBe(2);
    expect(Array.from(shiftLabels(p.labels, 2, 4).subarray(0, 4))).toEqual([121, 122, IGNORE_INDEX, IGNORE_INDEX]);
  });
  it('splits held-out data deterministically', () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const a = splitHeldOut(items, 0.1, 7);
    expect(a.heldOut.length).toBe(10);
    expect(a.train.length).toBe(90);
    expect(splitHeldOut(items, 0.1, 7)).toEqual(a);
    expect(splitHeldOut(items, 0.1, 8).heldOut).not.toEqual(a.heldOut);
    expect([...a.train, ...a.heldOut].sort((x, y) => x - y)).toEqual(items);
    expect(splitHeldOut([1, 2, 3], 0.01, 1).heldOut.length).toBe(1);
    expect(() => splitHeldOut(items, 1, 1)).toThrow(UserError);
  });
});

describe('batch loader', () => {
  const t = new ByteTokenizer();
  const rows = packPadded(Array.from({ length: 10 }, (_, i) => tokenizeExample(t, { text: String.fromCharCode(65 + i) })), 2);
  it('yields [batch, seq] arrays covering every row once per epoch, shuffled by seed', () => {
    const l = new BatchLoader(rows, { batchSize: 5, seed: 3 });
    const b1 = l.next();
    const b2 = l.next();
    expect(b1.ids.length).toBe(10);
    expect([...b1.rows, ...b2.rows].sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(b1.ids[0]).toBe(65 + b1.rows[0]!);
    expect(l.cursor).toEqual({ seed: 3, epoch: 0, position: 10 });
    const b3 = l.next();
    expect(l.cursor.epoch).toBe(1);
    expect(b3.rows).not.toEqual(b1.rows);
    expect(new BatchLoader(rows, { batchSize: 5, seed: 4 }).next().rows).not.toEqual(b1.rows);
  });
  it('resumes from a saved cursor with the same batches', () => {
    const a = new BatchLoader(rows, { batchSize: 3, seed: 9 });
    a.next();
    a.next();
    const saved = JSON.parse(JSON.stringify(a.cursor));
    const expected = [a.next(), a.next(), a.next()].map((b) => b.rows);
    const b = new BatchLoader(rows, { batchSize: 3, cursor: saved });
    expect([b.next(), b.next(), b.next()].map((x) => x.rows)).toEqual(expected);
    expect(() => new BatchLoader(rows, { batchSize: 3, cursor: { seed: 1, epoch: 0, position: 99 } })).toThrow(UserError);
  });
  it('evaluation batches cover rows in order and pad the last batch with ignored rows', () => {
    const bs = [...evalBatches(rows, 4)];
    expect(bs.length).toBe(3);
    expect(bs[2]!.rows).toEqual([8, 9, -1, -1]);
    expect(Array.from(bs[2]!.labels.subarray(4))).toEqual([IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]);
  });
});
