import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../../compiler/errors.ts';
import type { HfTokenizer } from '../../../runtime/data/hf-tokenizer.ts';
import { loadExamplesFile, loadFolderTokenizer } from '../../../runtime/data/node-files.ts';
import { ChatTemplate, type ChatMessage } from '../../../runtime/data/chat-template.ts';
import { tokenizeChat } from '../../../runtime/data/chat-data.ts';
import { IGNORE_INDEX, decodeUtf8, parseJsonl, tokenizeExample } from '../../../runtime/data/dataset.ts';
import { loadTrainData } from '../../../runtime/data/job-data.ts';
import { ByteTokenizer } from '../../../runtime/data/tokenizer.ts';
import { writeTokenizerFolder } from '../../helpers/hf-tokenizers.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-chat-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let qwen: HfTokenizer;
let llama: HfTokenizer;
beforeAll(() => {
  qwen = loadFolderTokenizer(writeTokenizerFolder('qwen2_5', path.join(tmp, 'qwen')));
  llama = loadFolderTokenizer(writeTokenizerFolder('llama3_2', path.join(tmp, 'llama')));
});

const CHAT: ChatMessage[] = [
  { role: 'user', content: 'hi' },
  { role: 'assistant', content: 'yo there' },
  { role: 'user', content: 'more?' },
  { role: 'assistant', content: 'sure 😀' },
];
const DATE = { date_string: '26 Jul 2024' };

/** The learned tokens, decoded span by span (maximal runs of labels != IGNORE_INDEX). */
function learnedSpans(tok: HfTokenizer, ids: number[], labels: number[]): string[] {
  const spans: string[] = [];
  let run: number[] = [];
  labels.forEach((l, i) => {
    if (l !== IGNORE_INDEX) {
      expect(l).toBe(ids[i]);
      run.push(ids[i]!);
    } else if (run.length) {
      spans.push(tok.decode(run));
      run = [];
    }
  });
  if (run.length) spans.push(tok.decode(run));
  return spans;
}

describe('chat templates (@huggingface/jinja)', () => {
  it('renders Qwen2.5\'s template as transformers does (default system prompt, generation prompt)', () => {
    const sys = '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n';
    expect(qwen.chatTemplate!.render(CHAT.slice(0, 1), { addGenerationPrompt: true })).toBe(`${sys}<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n`);
    expect(qwen.chatTemplate!.render([{ role: 'system', content: 'Be brief.' }, ...CHAT.slice(0, 2)])).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo there<|im_end|>\n',
    );
  });

  it('renders Llama-3.2\'s template with bos_token and its date header', () => {
    expect(llama.chatTemplate!.render(CHAT.slice(0, 1), { addGenerationPrompt: true, vars: DATE })).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });

  it('template errors and raise_exception become UserErrors naming the template', () => {
    expect(() => new ChatTemplate('{% for m in messages %}', {}, 'my template')).toThrow(/my template: cannot parse the chat template/);
    const t = new ChatTemplate("{% if messages[0].role != 'system' %}{{ raise_exception('System message required') }}{% endif %}", {}, 'strict');
    expect(() => t.render([{ role: 'user', content: 'x' }])).toThrow(/strict: rendering failed: System message required/);
  });
});

describe('chat examples: loss on the assistant turns only', () => {
  it('Qwen2.5: each assistant turn\'s content and end-of-turn tokens are learned, nothing else', () => {
    const { ids, labels } = tokenizeChat(qwen, qwen.chatTemplate!, CHAT, 'x');
    expect(ids).toEqual(qwen.encode(qwen.chatTemplate!.render(CHAT)));
    expect(learnedSpans(qwen, ids, labels)).toEqual(['yo there<|im_end|>\n', 'sure 😀<|im_end|>\n']);
  });

  it('Llama-3.2: same, with the BOS and headers from the template only', () => {
    const { ids, labels } = tokenizeChat(llama, llama.chatTemplate!, CHAT, 'x', { vars: DATE });
    expect(ids.filter((id) => id === llama.bos)).toHaveLength(1);
    expect(ids[0]).toBe(llama.bos);
    expect(learnedSpans(llama, ids, labels)).toEqual(['yo there<|eot_id|>', 'sure 😀<|eot_id|>']);
  });

  it('a token straddling the start of an assistant turn counts as assistant text', () => {
    // The header's "\n" and the content's "\n\n" merge into one "\n\n\n" token of Qwen's BPE.
    const t = new ChatTemplate('{% for m in messages %}{{ m.role }}\n{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant\n{% endif %}', {}, 't');
    const msgs = [{ role: 'user', content: 'hi' }, { role: 'assistant', content: '\n\nyo' }];
    const { ids, labels } = tokenizeChat(qwen, t, msgs, 'x');
    expect(qwen.encode('assistant\n\n\nyo\n').map((id) => qwen.decode([id]))).toEqual(['assistant', '\n\n\n', 'yo', '\n']);
    expect(learnedSpans(qwen, ids, labels)).toEqual(['\n\n\nyo\n']);
  });

  it('refuses a template that rewrites earlier turns (not prefix-stable), naming the turn', () => {
    // Like Qwen3's: the last assistant turn gets a <think> block, earlier ones do not.
    const t = new ChatTemplate(
      "{% for m in messages %}<|{{ m.role }}|>{% if m.role == 'assistant' and loop.last %}<think></think>{% endif %}{{ m.content }}<|end|>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
      {},
      't',
    );
    expect(() => tokenizeChat(new ByteTokenizer(), t, CHAT, 'data.jsonl:3')).toThrow(/data.jsonl:3: the chat template is not prefix-stable: rendering messages\[:2\] is not a prefix.*assistant turn 1/);
  });

  it('needs an assistant message, and a chat template', () => {
    expect(() => tokenizeChat(qwen, qwen.chatTemplate!, [{ role: 'user', content: 'hi' }], 'f:1')).toThrow(/f:1: no "assistant" message/);
    expect(() => tokenizeExample(new ByteTokenizer(), { messages: CHAT, where: 'f:2' })).toThrow(/f:2: chat examples need the model's chat template, and tokenizer bytes has none/);
  });

  it('text and prompt/completion examples start with the tokenizer\'s bos (not learned) when it has one', () => {
    const ex = tokenizeExample(llama, { text: 'Hello' });
    expect(ex.ids).toEqual([128000, ...llama.encode('Hello'), llama.eos]);
    expect(ex.labels[0]).toBe(IGNORE_INDEX);
    expect(ex.labels.slice(1)).toEqual(ex.ids.slice(1));
    const pc = tokenizeExample(llama, { prompt: 'Q:', completion: ' A' });
    expect(pc.ids[0]).toBe(128000);
    expect(pc.labels.filter((l) => l !== IGNORE_INDEX)).toEqual([...llama.encode(' A'), llama.eos]);
    expect(tokenizeExample(qwen, { text: 'Hello' }).ids).toEqual([...qwen.encode('Hello'), qwen.eos]);
  });
});

describe('chat JSONL', () => {
  it('parses messages lines and refuses malformed ones with the line number', () => {
    const ex = parseJsonl(`${JSON.stringify({ messages: CHAT })}\n\n{"text": "x"}\n`, 'c.jsonl');
    expect(ex[0]).toEqual({ messages: CHAT, where: 'c.jsonl:1' });
    expect(() => parseJsonl('{"messages": []}', 'c.jsonl')).toThrow(/c.jsonl:1: "messages" must be a non-empty list/);
    expect(() => parseJsonl('{"text": "a"}\n{"messages": [{"role": "user"}]}', 'c.jsonl')).toThrow(/c.jsonl:2: messages\[0\] \("user"\) has no "content" string/);
    expect(() => parseJsonl('{"messages": [{"role": "user", "content": "a"}], "text": "b"}', 'c.jsonl')).toThrow(/not several of them/);
  });

  it('refuses non-UTF-8 data with the line and byte of the first bad line', () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{"text": "ok"}\n{"text": "caf'), 0xe9, ...new TextEncoder().encode('"}\n{"text": "\u00e9"}\n'), 0xc0, 0x80]);
    expect(() => decodeUtf8(bytes, 'd.jsonl')).toThrow(/d.jsonl:2: not valid UTF-8 at byte 14 of the line \(and 1 more line: 4\)/);
    expect(decodeUtf8(new TextEncoder().encode('naïve 😀'), 'ok')).toBe('naïve 😀');
    const file = path.join(tmp, 'latin1.jsonl');
    fs.writeFileSync(file, bytes);
    expect(() => loadExamplesFile(file)).toThrow(UserError);
  });

  it('loads a chat JSONL file into padded rows whose targets are the assistant tokens', () => {
    const file = path.join(tmp, 'chat.jsonl');
    const lines = [CHAT, [{ role: 'user', content: '2+2?' }, { role: 'assistant', content: '4' }]].map((messages) => JSON.stringify({ messages }));
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const data = loadTrainData(file, qwen, { seq: 64, seed: 1, evalFraction: 0 });
    expect(data.packing).toBe('padded');
    expect(data.train.count).toBe(2);
    const want = [tokenizeChat(qwen, qwen.chatTemplate!, CHAT, 'x'), tokenizeChat(qwen, qwen.chatTemplate!, JSON.parse(lines[1]!).messages, 'x')];
    expect(data.targetTokens).toBe(want.reduce((n, e) => n + e.labels.filter((l) => l !== IGNORE_INDEX).length, 0));
    // Padding uses the tokenizer's pad id and is never learned.
    const row1 = Array.from(data.train.ids.subarray(64, 128));
    expect(row1.slice(want[1]!.ids.length).every((id) => id === qwen.pad)).toBe(true);
  });
});
