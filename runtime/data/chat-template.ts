// Chat templates: the Jinja template a model ships (tokenizer_config.json's chat_template or
// chat_template.jinja) rendered with @huggingface/jinja, the engine transformers.js uses, with the
// variables transformers' apply_chat_template passes: `messages`, `add_generation_prompt`, the
// special tokens as text (bos_token, eos_token, ...), and any extra keyword (tools, date_string,
// enable_thinking). trim_blocks and lstrip_blocks are on, as in transformers; raise_exception and
// strftime_now are built in. Pure.
import { Template } from '@huggingface/jinja';
import { UserError } from '../../compiler/errors.ts';

export interface ChatMessage {
  role: string;
  content: string;
  /** Other fields (tool_calls, name, ...) reach the template unchanged. */
  [key: string]: unknown;
}

export interface RenderOptions {
  /** Ends the text with the header of an assistant turn, as a prompt for generation. */
  addGenerationPrompt?: boolean;
  /** Extra template variables (tools, documents, date_string, enable_thinking, ...). */
  vars?: Record<string, unknown>;
}

export class ChatTemplate {
  private readonly template: Template;

  /**
   * @param source the template text
   * @param specialTokens bos_token, eos_token, ... as text (tokenizer_config.json's)
   * @param origin where the template came from, for error messages
   */
  constructor(
    readonly source: string,
    readonly specialTokens: Readonly<Record<string, string>>,
    readonly origin: string,
  ) {
    try {
      this.template = new Template(source);
    } catch (err) {
      throw new UserError(`${origin}: cannot parse the chat template (${(err as Error).message})`);
    }
  }

  render(messages: readonly ChatMessage[], opts: RenderOptions = {}): string {
    try {
      return this.template.render({
        ...this.specialTokens,
        ...opts.vars,
        messages,
        add_generation_prompt: opts.addGenerationPrompt ?? false,
      });
    } catch (err) {
      throw new UserError(`${this.origin}: rendering failed: ${(err as Error).message}`);
    }
  }
}

/** Checks a JSONL "messages" value: a non-empty list of {"role": string, "content": string, ...}. */
export function checkMessages(v: unknown, where: string): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) throw new UserError(`${where}: "messages" must be a non-empty list of {"role", "content"} objects`);
  return v.map((m, i) => {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new UserError(`${where}: messages[${i}] is not an object`);
    const o = m as Record<string, unknown>;
    if (typeof o.role !== 'string' || o.role === '') throw new UserError(`${where}: messages[${i}] has no "role" string`);
    if (typeof o.content !== 'string') throw new UserError(`${where}: messages[${i}] ("${o.role}") has no "content" string`);
    return o as ChatMessage;
  });
}
