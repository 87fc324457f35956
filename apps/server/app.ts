// The HTTP layer of `rankfold serve`, on fastify: OpenAI's API over the serving engine
// (runtime/serve), as vLLM's OpenAI server is over its engine.
//   GET  /v1/models, /v1/models/:id     the base model and each loaded adapter, by name
//   POST /v1/completions                prompt text or token ids
//   POST /v1/chat/completions           messages through the model's chat template
//        `model` picks an adapter or the base; max_tokens, temperature, top_p, stop, seed; with
//        stream: true, server-sent events ending in `data: [DONE]`
//   GET  /health                        200 while serving (503 once shutting down)
//   GET/POST /admin/adapters, DELETE /admin/adapters/:name   list, load and unload adapters at run
//        time (vLLM's POST /v1/load_lora_adapter and /v1/unload_lora_adapter too); from loopback
//        clients, or with the --admin-token bearer token
// Errors are OpenAI's {error: {message, type, param, code}}: 400 for a bad field (named), 404 for
// an unknown model, 429 beyond --max-queue (nothing queued), 408 past --request-timeout, 503 while
// shutting down, 500 only for failures of the server itself. Closing the app (SIGTERM) lets the
// requests admitted finish for the grace period, ends the rest (streams get an error event and
// [DONE]) and only then closes the sockets.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { UserError } from '../../compiler/errors.ts';
import { AdapterError } from '../../runtime/serve/adapter-registry.ts';
import { ShuttingDownError, type Engine } from '../../runtime/serve/engine.ts';
import { QueueFullError } from '../../runtime/serve/scheduler.ts';
import type { GenerationResult } from '../../runtime/serve/sequence.ts';
import {
  ApiError,
  chatChunk,
  chatCompletion,
  completion,
  completionChunk,
  modelList,
  now,
  requestId,
  usageChunk,
  usageOf,
  type Head,
  type ModelCard,
} from './openai-shapes.ts';
import { SseStream } from './sse.ts';
import { parseChat, parseCompletion, parseLoadAdapter, parseUnloadAdapter, type SamplingRequest } from './validate.ts';

export interface ServerOptions {
  engine: Engine;
  /** Longest a generation request may take, from arrival to its last token, in ms (0: no limit). */
  requestTimeoutMs: number;
  /** On close, how long admitted requests may still run before they are ended, in ms. */
  shutdownGraceMs: number;
  /** Bearer token for /admin routes; without one they answer loopback clients only. */
  adminToken?: string;
  /** One line per request (method, path, status, time), when given. */
  log?: (line: string) => void;
  /** Largest request body in bytes (default 4 MiB). */
  bodyLimit?: number;
}

/** Completions without max_tokens generate 16 tokens, as OpenAI's legacy endpoint does. */
export const DEFAULT_COMPLETION_TOKENS = 16;

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Engine and runtime failures as API errors; anything unexpected is a 500. */
function apiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof QueueFullError) return new ApiError(429, err.message, 'rate_limit_error', null, 'queue_full');
  if (err instanceof ShuttingDownError) return new ApiError(503, err.message, 'server_error', null, 'shutting_down');
  if (err instanceof AdapterError) return new ApiError(err.status, err.message, err.status === 404 ? 'not_found_error' : 'invalid_request_error');
  if (err instanceof UserError) return new ApiError(400, err.message);
  const e = err as { statusCode?: number; message?: string };
  // fastify's own errors (malformed JSON, unsupported media type, body too large) are the client's.
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new ApiError(e.statusCode, e.message ?? 'bad request');
  return new ApiError(500, `internal error: ${(err as Error)?.message ?? String(err)}`);
}

export function buildServer(o: ServerOptions): FastifyInstance {
  const { engine } = o;
  const base = engine.model.name;
  const tok = engine.model.tokenizer;
  const maxLen = engine.options.maxModelLen;
  const started = now();
  // Generation responses not yet finished (hijacked streams included): close waits for them after
  // the engine drains, so no socket is destroyed under an answer being written.
  const inflight = new Set<Promise<unknown>>();
  const app = Fastify({
    logger: false,
    // Sockets still open once every handler has answered are destroyed (an aborted stream's socket
    // would otherwise hold close() for the keep-alive timeout, 72 s).
    forceCloseConnections: true,
    bodyLimit: o.bodyLimit ?? 4 * 1024 * 1024,
    // The whole request must arrive within 30 s (slow clients cannot hold sockets forever).
    requestTimeout: 30_000,
    return503OnClosing: true,
  });

  app.addHook('preClose', async () => {
    await engine.shutdown({ graceMs: o.shutdownGraceMs });
    await Promise.allSettled([...inflight]);
  });
  if (o.log) {
    const log = o.log;
    app.addHook('onResponse', async (req, reply) => log(`${req.method} ${req.url} ${reply.statusCode} ${reply.elapsedTime.toFixed(0)}ms`));
  }
  app.setErrorHandler((err, _req, reply) => {
    const e = apiError(err);
    if (e.status === 429) reply.header('retry-after', '1');
    reply.status(e.status).send(e.body);
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send(new ApiError(404, `no route ${req.method} ${req.url.split('?')[0]}`).body);
  });

  const track = (reply: FastifyReply): void => {
    const p = new Promise<void>((resolve) => reply.raw.once('close', () => resolve()));
    inflight.add(p);
    void p.then(() => inflight.delete(p));
  };

  const card = (id: string, parent: string | null, created: number): ModelCard => ({ id, object: 'model', created, owned_by: 'rankfold', root: base, parent });
  const cards = (): ModelCard[] => [card(base, null, started), ...engine.adapters().map((a) => card(a.name, base, a.loadedAt))];

  app.get('/health', async () => ({ status: 'ok', ...engine.stats }));
  app.get('/v1/models', async () => modelList(cards()));
  app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
    const c = cards().find((m) => m.id === req.params.id);
    if (!c) throw new ApiError(404, `The model \`${req.params.id}\` does not exist.`, 'invalid_request_error', 'model', 'model_not_found');
    return c;
  });

  /** The adapter a request's `model` names (undefined: the base), or a 404 as OpenAI answers. */
  function adapterOf(model: string): string | undefined {
    if (model === base) return undefined;
    if (engine.registry.has(model)) return model;
    throw new ApiError(404, `The model \`${model}\` does not exist.`, 'invalid_request_error', 'model', 'model_not_found');
  }

  function checkLength(prompt: number[], maxTokens: number, param: string): void {
    if (prompt.length + maxTokens > maxLen) {
      throw new ApiError(400, `This model's maximum context length is ${maxLen} tokens. However, you requested ${prompt.length + maxTokens} tokens (${prompt.length} in the prompt, ${maxTokens} for the completion). Please reduce the length of the prompt or ${param}.`, 'invalid_request_error', param, 'context_length_exceeded');
    }
  }

  /** Runs one generation and answers it, as one JSON body or as a stream. */
  async function generate(kind: 'completion' | 'chat', req: SamplingRequest, prompt: number[], defaultMax: number, reply: FastifyReply): Promise<void> {
    const adapter = adapterOf(req.model);
    const maxTokens = req.maxTokens ?? defaultMax;
    checkLength(prompt, maxTokens, 'max_tokens');
    const head: Head = { id: requestId(kind === 'chat' ? 'chatcmpl' : 'cmpl'), created: now(), model: req.model };
    const abort = new AbortController();
    const timer = o.requestTimeoutMs > 0 ? setTimeout(() => abort.abort('timeout'), o.requestTimeoutMs) : undefined;
    let sse: SseStream | undefined;
    const chunk = (text: string, finish: 'stop' | 'length' | null) => (kind === 'chat' ? chatChunk(head, finish === null ? { content: text } : {}, finish) : completionChunk(head, text, finish));
    try {
      // Submitting first: a full queue or a bad request is a plain HTTP error, not a stream.
      const done = engine.submit({
        prompt,
        ...(adapter !== undefined ? { adapter } : {}),
        maxTokens,
        temperature: req.temperature,
        topP: req.topP,
        stop: req.stop,
        ...(req.seed !== undefined ? { seed: req.seed } : {}),
        signal: abort.signal,
        ...(req.stream ? { onText: (delta: string) => sse?.send(chunk(delta, null)) } : {}),
      });
      if (req.stream) {
        sse = new SseStream(reply);
        sse.gone.signal.addEventListener('abort', () => abort.abort('client disconnected'));
        if (kind === 'chat') sse.send(chatChunk(head, { role: 'assistant', content: '' }, null));
      } else {
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) abort.abort('client disconnected');
        });
      }
      const result = await done;
      answer(kind, head, req, result, reply, sse);
    } catch (err) {
      if (!sse) throw err;
      // The stream has begun: the error goes in an event, then [DONE].
      sse.send(apiError(err).body);
      sse.done();
    } finally {
      clearTimeout(timer);
    }
  }

  function answer(kind: 'completion' | 'chat', head: Head, req: SamplingRequest, r: GenerationResult, reply: FastifyReply, sse: SseStream | undefined): void {
    if (r.finishReason === 'abort') {
      if (r.abortReason === 'client disconnected') return;
      const e = r.abortReason === 'timeout'
        ? new ApiError(408, `the request took longer than ${o.requestTimeoutMs / 1000} s (--request-timeout) and was stopped after ${r.completionTokens} tokens`, 'timeout_error', null, 'request_timeout')
        : new ApiError(503, 'the server is shutting down; the request was stopped', 'server_error', null, 'shutting_down');
      if (!sse) throw e;
      sse.send(e.body);
      sse.done();
      return;
    }
    const finish = r.finishReason;
    const usage = usageOf(r);
    if (!sse) {
      reply.send(kind === 'chat' ? chatCompletion(head, r.text, finish, usage) : completion(head, r.text, finish, usage));
      return;
    }
    sse.send(kind === 'chat' ? chatChunk(head, {}, finish) : completionChunk(head, '', finish));
    if (req.includeUsage) sse.send(usageChunk(head, kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', usage));
    sse.done();
  }

  app.post('/v1/completions', async (request: FastifyRequest, reply) => {
    track(reply);
    const req = parseCompletion(request.body);
    let prompt: number[];
    if (typeof req.prompt === 'string') {
      // As transformers' tokenizer(text) does by default: the BOS its post-processor adds.
      prompt = [...(tok.bos !== undefined ? [tok.bos] : []), ...tok.encode(req.prompt)];
    } else {
      const badId = req.prompt.find((t) => t >= tok.vocabSize);
      if (badId !== undefined) throw new ApiError(400, `'prompt' has token id ${badId}; the tokenizer has ${tok.vocabSize} ids`, 'invalid_request_error', 'prompt');
      prompt = req.prompt;
    }
    await generate('completion', req, prompt, Math.min(DEFAULT_COMPLETION_TOKENS, Math.max(1, maxLen - prompt.length)), reply);
    return reply;
  });

  app.post('/v1/chat/completions', async (request: FastifyRequest, reply) => {
    track(reply);
    const req = parseChat(request.body);
    const template = tok.chatTemplate;
    if (!template) throw new ApiError(400, `the model ${base} has no chat template (tokenizer_config.json's chat_template or chat_template.jinja); use /v1/completions`, 'invalid_request_error', 'messages');
    const prompt = tok.encode(template.render(req.messages, { addGenerationPrompt: true }));
    await generate('chat', req, prompt, Math.max(1, maxLen - prompt.length), reply);
    return reply;
  });

  // Admin: adapters at run time.
  app.register(async (admin) => {
    admin.addHook('onRequest', async (req) => {
      if (o.adminToken !== undefined) {
        if (req.headers.authorization !== `Bearer ${o.adminToken}`) throw new ApiError(401, 'admin routes need the header "Authorization: Bearer <--admin-token>"', 'authentication_error');
      } else if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) {
        throw new ApiError(403, 'admin routes answer loopback clients only (start the server with --admin-token to allow others)', 'permission_error');
      }
    });
    const load = (name: string, path: string, reply: FastifyReply) => {
      const a = engine.loadAdapter(name, path);
      reply.status(201);
      return { object: 'adapter', ...a };
    };
    const unload = (name: string) => ({ object: 'adapter', name, unloaded: true, ...engine.unloadAdapter(name) });
    admin.get('/admin/adapters', async () => ({ object: 'list', data: engine.adapters().map((a) => ({ object: 'adapter', ...a })) }));
    admin.post('/admin/adapters', async (req, reply) => {
      const { name, path } = parseLoadAdapter(req.body);
      if (name === base) throw new ApiError(409, `"${name}" is the base model's name`, 'invalid_request_error', 'name');
      return load(name, path, reply);
    });
    admin.delete<{ Params: { name: string } }>('/admin/adapters/:name', async (req) => unload(req.params.name));
    admin.post('/v1/load_lora_adapter', async (req, reply) => {
      const { name, path } = parseLoadAdapter(req.body, { name: 'lora_name', path: 'lora_path' });
      if (name === base) throw new ApiError(409, `"${name}" is the base model's name`, 'invalid_request_error', 'lora_name');
      return load(name, path, reply);
    });
    admin.post('/v1/unload_lora_adapter', async (req) => unload(parseUnloadAdapter(req.body)));
  });

  return app;
}
