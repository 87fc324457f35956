// Request bodies of /v1/completions and /v1/chat/completions, checked field by field: a wrong type,
// a value out of range, an unknown field, or a field whose non-default value the server does not
// implement (n > 1, logprobs, penalties, tools) is a 400 naming the field (the error's `param`), as
// OpenAI answers "Unrecognized request argument supplied". Nothing is silently ignored except
// `user`, which is metadata. null stands for "default", as in the OpenAI API.
import type { ChatMessage } from '../../runtime/data/chat-template.ts';
import { ApiError } from './openai-shapes.ts';

type Body = Record<string, unknown>;

const bad = (param: string, message: string): ApiError => new ApiError(400, message, 'invalid_request_error', param);

export function jsonObject(body: unknown): Body {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'the request body must be a JSON object');
  return body as Body;
}

/** Typed reads of a body's fields; every field must be listed as known. */
class Fields {
  constructor(
    private readonly body: Body,
    known: readonly string[],
  ) {
    for (const k of Object.keys(body)) if (!known.includes(k)) throw bad(k, `Unrecognized request argument supplied: ${k}`);
  }

  /** The value, or undefined for absent and null. */
  private get(name: string): unknown {
    const v = this.body[name];
    return v === null ? undefined : v;
  }

  string(name: string, required: true): string;
  string(name: string, required?: false): string | undefined;
  string(name: string, required = false): string | undefined {
    const v = this.get(name);
    if (v === undefined) {
      if (required) throw bad(name, `'${name}' is required`);
      return undefined;
    }
    if (typeof v !== 'string') throw bad(name, `'${name}' must be a string, got ${describe(v)}`);
    return v;
  }

  int(name: string, o: { min: number; max?: number }): number | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad(name, `'${name}' must be an integer, got ${describe(v)}`);
    if (v < o.min || (o.max !== undefined && v > o.max)) throw bad(name, `'${name}' must be ${o.max === undefined ? `>= ${o.min}` : `between ${o.min} and ${o.max}`}, got ${v}`);
    return v;
  }

  number(name: string, o: { min: number; max: number; minExclusive?: boolean }): number | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(name, `'${name}' must be a number, got ${describe(v)}`);
    if ((o.minExclusive ? v <= o.min : v < o.min) || v > o.max) throw bad(name, `'${name}' must be ${o.minExclusive ? `> ${o.min}` : `>= ${o.min}`} and <= ${o.max}, got ${v}`);
    return v;
  }

  bool(name: string): boolean | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw bad(name, `'${name}' must be true or false, got ${describe(v)}`);
    return v;
  }

  /** A known field the server accepts only at its default (`neutral` says which values are). */
  unsupported(name: string, neutral: (v: unknown) => boolean, what: string): void {
    const v = this.get(name);
    if (v !== undefined && !neutral(v)) throw bad(name, `'${name}' is not supported by this server (${what})`);
  }

  raw(name: string): unknown {
    return this.get(name);
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** What both endpoints take besides the prompt. */
export interface SamplingRequest {
  model: string;
  /** undefined: the endpoint's default (16 for completions, the rest of the context for chat). */
  maxTokens?: number;
  temperature: number;
  topP: number;
  stop: string[];
  seed?: number;
  stream: boolean;
  includeUsage: boolean;
}

export interface CompletionRequest extends SamplingRequest {
  /** Text, or token ids. */
  prompt: string | number[];
}

export interface ChatRequest extends SamplingRequest {
  messages: ChatMessage[];
}

const COMMON = ['model', 'max_tokens', 'temperature', 'top_p', 'stop', 'stream', 'stream_options', 'seed', 'n', 'user', 'presence_penalty', 'frequency_penalty', 'logit_bias'];
const COMPLETION_FIELDS = [...COMMON, 'prompt', 'best_of', 'echo', 'logprobs', 'suffix'];
const CHAT_FIELDS = [...COMMON, 'messages', 'max_completion_tokens', 'logprobs', 'top_logprobs', 'response_format', 'tools', 'tool_choice', 'parallel_tool_calls'];

/** OpenAI allows up to 4 stop sequences. */
export const MAX_STOP = 4;

function sampling(f: Fields, maxTokensField: 'max_tokens' | 'max_completion_tokens' = 'max_tokens'): SamplingRequest {
  const model = f.string('model', true);
  const stream = f.bool('stream') ?? false;
  const stopRaw = f.raw('stop');
  let stop: string[] = [];
  if (typeof stopRaw === 'string') stop = [stopRaw];
  else if (Array.isArray(stopRaw)) stop = stopRaw as string[];
  else if (stopRaw !== undefined) throw bad('stop', `'stop' must be a string or a list of strings, got ${describe(stopRaw)}`);
  if (stop.length > MAX_STOP) throw bad('stop', `'stop' has ${stop.length} strings; at most ${MAX_STOP} are allowed`);
  stop.forEach((s, i) => {
    if (typeof s !== 'string' || s === '') throw bad('stop', `'stop[${i}]' must be a non-empty string, got ${describe(s)}`);
  });
  const options = f.raw('stream_options');
  let includeUsage = false;
  if (options !== undefined) {
    if (!stream) throw bad('stream_options', "'stream_options' is only allowed with 'stream': true");
    const o = jsonObject(options) as Body;
    const known = new Fields(o, ['include_usage', 'continuous_usage_stats']);
    includeUsage = known.bool('include_usage') ?? false;
    known.unsupported('continuous_usage_stats', (v) => v === false, 'usage is sent once, at the end');
  }
  f.unsupported('n', (v) => v === 1, 'one choice per request: send several requests');
  f.unsupported('presence_penalty', (v) => v === 0, 'no repetition penalties');
  f.unsupported('frequency_penalty', (v) => v === 0, 'no repetition penalties');
  f.unsupported('logit_bias', (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0, 'no logit bias');
  if (f.raw('user') !== undefined) f.string('user');
  const maxTokens = f.int(maxTokensField, { min: 1 });
  const seed = f.int('seed', { min: Number.MIN_SAFE_INTEGER });
  return {
    model,
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    temperature: f.number('temperature', { min: 0, max: 2 }) ?? 1,
    topP: f.number('top_p', { min: 0, max: 1, minExclusive: true }) ?? 1,
    stop,
    ...(seed !== undefined ? { seed } : {}),
    stream,
    includeUsage,
  };
}

export function parseCompletion(body: unknown): CompletionRequest {
  const f = new Fields(jsonObject(body), COMPLETION_FIELDS);
  const s = sampling(f);
  f.unsupported('best_of', (v) => v === 1, 'one candidate per request');
  f.unsupported('echo', (v) => v === false, 'the prompt is not echoed');
  f.unsupported('logprobs', (v) => v === 0, 'no log probabilities');
  f.unsupported('suffix', (v) => v === '', 'no insertion (suffix)');
  const p = f.raw('prompt');
  const tokens = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((t) => Number.isSafeInteger(t) && (t as number) >= 0);
  let prompt: string | number[];
  if (typeof p === 'string') prompt = p;
  else if (Array.isArray(p) && p.length === 1 && typeof p[0] === 'string') prompt = p[0];
  else if (Array.isArray(p) && p.length === 1 && tokens(p[0])) prompt = p[0];
  else if (tokens(p)) prompt = p;
  else if (p === undefined) throw bad('prompt', "'prompt' is required");
  else if (Array.isArray(p) && p.length > 1 && (p.every((x) => typeof x === 'string') || p.every(tokens))) throw bad('prompt', `'prompt' holds ${p.length} prompts; this server takes one per request`);
  else throw bad('prompt', `'prompt' must be a string or a list of token ids, got ${describe(p)}`);
  if (prompt === '') throw bad('prompt', "'prompt' is empty");
  return { ...s, prompt };
}

const ROLES = ['system', 'developer', 'user', 'assistant'];

function message(m: unknown, i: number): ChatMessage {
  const where = `messages[${i}]`;
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw bad('messages', `'${where}' must be an object with 'role' and 'content'`);
  const role = (m as Body).role;
  if (role === undefined || role === null) throw bad('messages', `'${where}.role' is required`);
  if (typeof role !== 'string' || !ROLES.includes(role)) {
    throw bad('messages', `'${where}.role' must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role)}${role === 'tool' || role === 'function' ? ' (this server does not run tools)' : ''}`);
  }
  const f = new Fields(m as Body, ['role', 'content', 'name']);
  const c = f.raw('content');
  let content: string;
  if (typeof c === 'string') content = c;
  else if (Array.isArray(c)) {
    // Content parts: text only.
    content = c
      .map((part, j) => {
        const p = part as Body | null;
        if (p === null || typeof p !== 'object' || p.type !== 'text' || typeof p.text !== 'string') {
          throw bad('messages', `'${where}.content[${j}]' must be {"type": "text", "text": ...}${p && typeof p === 'object' && typeof p.type === 'string' && p.type !== 'text' ? ` (${p.type} parts are not supported)` : ''}`);
        }
        return p.text;
      })
      .join('');
  } else throw bad('messages', `'${where}.content' must be a string or a list of text parts, got ${describe(c)}`);
  const name = f.string('name');
  // The OpenAI "developer" role is the system prompt of newer models; chat templates know "system".
  return { role: role === 'developer' ? 'system' : role, content, ...(name !== undefined ? { name } : {}) };
}

export function parseChat(body: unknown): ChatRequest {
  const b = jsonObject(body);
  const f = new Fields(b, CHAT_FIELDS);
  if (b.max_tokens != null && b.max_completion_tokens != null && b.max_tokens !== b.max_completion_tokens) {
    throw bad('max_completion_tokens', "'max_tokens' and 'max_completion_tokens' disagree; send one");
  }
  const s = sampling(f, b.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens');
  if (b.max_completion_tokens != null) f.int('max_tokens', { min: 1 });
  f.unsupported('logprobs', (v) => v === false, 'no log probabilities');
  f.unsupported('top_logprobs', (v) => v === 0, 'no log probabilities');
  f.unsupported('response_format', (v) => typeof v === 'object' && v !== null && (v as Body).type === 'text' && Object.keys(v).length === 1, 'plain text only');
  f.unsupported('tools', (v) => Array.isArray(v) && v.length === 0, 'no tool calls');
  f.unsupported('tool_choice', (v) => v === 'none', 'no tool calls');
  f.unsupported('parallel_tool_calls', (v) => v === false, 'no tool calls');
  const list = f.raw('messages');
  if (list === undefined) throw bad('messages', "'messages' is required");
  if (!Array.isArray(list) || list.length === 0) throw bad('messages', `'messages' must be a non-empty list of messages, got ${describe(list)}`);
  return { ...s, messages: list.map(message) };
}

/** vLLM's POST /v1/unload_lora_adapter: {"lora_name"} (lora_int_id, vLLM's internal id, is not used here). */
export function parseUnloadAdapter(body: unknown): string {
  const f = new Fields(jsonObject(body), ['lora_name']);
  return f.string('lora_name', true);
}

/** POST /admin/adapters: {"name", "path"} (vLLM's /v1/load_lora_adapter takes lora_name, lora_path). */
export function parseLoadAdapter(body: unknown, names: { name: string; path: string } = { name: 'name', path: 'path' }): { name: string; path: string } {
  const f = new Fields(jsonObject(body), [names.name, names.path]);
  return { name: f.string(names.name, true), path: f.string(names.path, true) };
}
