// The JSON the OpenAI API returns, as the official `openai` client reads it: completions, chat
// completions, their streamed chunks, the model list and errors ({error: {message, type, param,
// code}}). The .stream() helper of the client needs choices[].index, role "assistant" in the first
// chat delta and a chunk with finish_reason; the rest follows the API reference.
import { randomBytes } from 'node:crypto';
import type { GenerationResult } from '../../runtime/serve/sequence.ts';

export type OpenAIFinish = 'stop' | 'length';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export const now = (): number => Math.floor(Date.now() / 1000);

export function requestId(prefix: 'cmpl' | 'chatcmpl'): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}

export function usageOf(r: Pick<GenerationResult, 'promptTokens' | 'completionTokens'>): Usage {
  return { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, total_tokens: r.promptTokens + r.completionTokens };
}

export interface Head {
  id: string;
  created: number;
  model: string;
}

export function completion(h: Head, text: string, finish: OpenAIFinish, usage: Usage) {
  return { id: h.id, object: 'text_completion', created: h.created, model: h.model, choices: [{ index: 0, text, logprobs: null, finish_reason: finish }], usage };
}

export function completionChunk(h: Head, text: string, finish: OpenAIFinish | null) {
  return { id: h.id, object: 'text_completion', created: h.created, model: h.model, choices: [{ index: 0, text, logprobs: null, finish_reason: finish }] };
}

export function chatCompletion(h: Head, content: string, finish: OpenAIFinish, usage: Usage) {
  return {
    id: h.id,
    object: 'chat.completion',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: finish }],
    usage,
  };
}

export function chatChunk(h: Head, delta: Record<string, string>, finish: OpenAIFinish | null) {
  return { id: h.id, object: 'chat.completion.chunk', created: h.created, model: h.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
}

/** The last chunk of a stream with stream_options.include_usage: no choices, the usage. */
export function usageChunk(h: Head, object: 'text_completion' | 'chat.completion.chunk', usage: Usage) {
  return { id: h.id, object, created: h.created, model: h.model, choices: [], usage };
}

export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** The base model an adapter applies to (vLLM's fields); null for the base. */
  root: string;
  parent: string | null;
}

export function modelList(cards: ModelCard[]) {
  return { object: 'list', data: cards };
}

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error the API answers with a status and OpenAI's error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = status === 404 ? 'not_found_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get body(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}
