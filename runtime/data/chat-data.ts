// Chat examples ({"messages": [{"role", "content"}, ...]}) rendered with the model's chat template,
// with the loss on the assistant turns only. Pure.
//
// Few templates mark assistant text with {% generation %} (and @huggingface/jinja ignores those
// tags), so the spans are found by rendering prefixes, as TRL's prompt/completion path does:
//   start of assistant turn i = render(messages[:i], add_generation_prompt=true)
//   end of assistant turn i   = render(messages[:i+1])
// Both must be prefixes of the whole conversation's rendering; a template that rewrites earlier
// turns (Qwen3's drops past <think> blocks) is not prefix-stable and is refused with the turn named.
// The whole rendering is tokenized once (so BPE merges are those of the real sequence), and each
// boundary maps to the first token where the prefix's own tokenization departs from it: a token
// that straddles a boundary counts as assistant text, as transformers' assistant masks count it.
// The span covers the assistant's content and the template's end-of-turn text (<|im_end|>\n,
// <|eot_id|>), so the model learns to stop; the role header comes from the generation prompt.
import { UserError } from '../../compiler/errors.ts';
import { IGNORE_INDEX, type TokenizedExample } from './tokenized.ts';
import type { ChatMessage, ChatTemplate } from './chat-template.ts';
import type { Tokenizer } from './tokenizer.ts';

export interface ChatTokenizeOptions {
  /** Extra template variables (date_string, enable_thinking, tools, ...). */
  vars?: Record<string, unknown>;
  /** The role whose turns are learned. */
  assistantRole?: string;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * The token index where `prefixText` (a prefix of the full text) ends within `ids`: its own
 * tokenization when that is a prefix of `ids`, else the first token where they differ, which
 * straddles the boundary (`straddleEnd` then counts it as before the boundary).
 */
function boundaryToken(tok: Tokenizer, prefixText: string, ids: readonly number[], straddleEnd: boolean): number {
  const p = tok.encode(prefixText);
  const k = commonPrefix(p, ids);
  return k === p.length || !straddleEnd ? k : Math.min(k + 1, ids.length);
}

/** Renders a conversation and labels the assistant turns (IGNORE_INDEX elsewhere). */
export function tokenizeChat(tok: Tokenizer, template: ChatTemplate, messages: readonly ChatMessage[], where: string, opts: ChatTokenizeOptions = {}): TokenizedExample {
  const role = opts.assistantRole ?? 'assistant';
  const render = (msgs: readonly ChatMessage[], gen: boolean) => template.render(msgs, { addGenerationPrompt: gen, vars: opts.vars });
  const full = render(messages, false);
  const ids = tok.encode(full);
  const labels = new Array<number>(ids.length).fill(IGNORE_INDEX);
  let learned = 0;
  messages.forEach((m, i) => {
    if (m.role !== role) return;
    const before = render(messages.slice(0, i), true);
    const through = render(messages.slice(0, i + 1), false);
    for (const [text, what] of [[before, `messages[:${i}] with the generation prompt`], [through, `messages[:${i + 1}]`]] as const) {
      if (!full.startsWith(text)) {
        const at = commonPrefixChars(text, full);
        throw new UserError(
          `${where}: the chat template is not prefix-stable: rendering ${what} is not a prefix of the whole conversation's rendering ` +
            `(they differ at character ${at}: ${JSON.stringify(text.slice(at, at + 30))} vs ${JSON.stringify(full.slice(at, at + 30))}), ` +
            `so the tokens of assistant turn ${i} cannot be located; split the conversation into single-turn examples or use a template that renders earlier turns unchanged`,
        );
      }
    }
    if (through.length <= before.length) return; // an empty turn adds nothing to learn
    const start = boundaryToken(tok, before, ids, false);
    const end = boundaryToken(tok, through, ids, true);
    for (let t = start; t < end; t++) labels[t] = ids[t]!;
    learned += Math.max(0, end - start);
  });
  if (!messages.some((m) => m.role === role)) throw new UserError(`${where}: no "${role}" message to learn from`);
  if (learned === 0) throw new UserError(`${where}: the "${role}" messages render to no tokens`);
  return { ids, labels };
}

function commonPrefixChars(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
