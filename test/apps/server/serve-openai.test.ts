// `rankfold serve` as a client sees it: the official `openai` npm client, unchanged, against a
// server on 127.0.0.1 over a tiny folder of each family (random weights, the family's real
// tokenizer and chat template) with two adapters: models, completions, chat completions, streaming
// (plain iteration and the strict .stream() helper), two adapters answering one prompt differently
// in one batch (each as it answers alone), stop strings, 400s naming the field, 404 for an unknown
// model, adapters loaded and unloaded at run time, 429 under a flood with --max-queue 4 and never a
// 5xx, and 408 past the request timeout.
import * as path from 'node:path';
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startServer, type RunningServer } from '../../../apps/server/start.ts';
import { getGpu, gpuTest } from '../../helpers/gpu.ts';
import { SERVE_FAMILIES, folderModel, writeRandomAdapter, writeTinyFolder } from '../../helpers/serve-fixtures.ts';
import { tmpDir } from '../../runtime/train/fixtures.ts';
import type { GpuContext } from '../../../runtime/device/device.ts';

const MAX_QUEUE = 4;

for (const family of SERVE_FAMILIES) {
  describe(`rankfold serve (${family}) with the openai client`, () => {
    const dir = tmpDir(`serve-http-${family}`);
    let server: RunningServer | undefined;
    let client: OpenAI;
    let files: { model: string; a: string; b: string; c: string };

    beforeAll(async () => {
      const gpu = await getGpu();
      if (gpu instanceof Error) return; // each gpuTest reports it (a failure under CI)
      const model = writeTinyFolder(path.join(dir, 'model'), family);
      const m = folderModel(family);
      files = {
        model,
        a: writeRandomAdapter(path.join(dir, 'a'), m, { targets: ['q_proj', 'v_proj'], r: 4, seed: 21 }),
        b: writeRandomAdapter(path.join(dir, 'b'), m, { targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], r: 8, seed: 22 }),
        c: writeRandomAdapter(path.join(dir, 'c'), m, { targets: ['v_proj'], r: 2, seed: 23 }),
      };
      server = await start(gpu, { adapters: { a: files.a, b: files.b } });
      client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-local', maxRetries: 0 });
    });
    afterAll(async () => {
      await server?.close();
    });

    function start(gpu: GpuContext, o: { adapters?: Record<string, string>; requestTimeoutS?: number }): Promise<RunningServer> {
      return startServer({
        model: files.model,
        servedName: 'tiny',
        ...(o.adapters ? { adapters: o.adapters } : {}),
        host: '127.0.0.1',
        port: 0,
        maxQueue: MAX_QUEUE,
        maxSeqs: 4,
        maxModelLen: 192,
        loraTargets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
        maxLoraRank: 8,
        maxLoras: 3,
        prefillChunk: 8,
        requestTimeoutS: o.requestTimeoutS ?? 60,
        shutdownTimeoutS: 5,
        backend: 'webgpu',
        gpu,
      });
    }

    gpuTest('lists the base model and each adapter', async () => {
      const list = await client.models.list();
      expect(list.data.map((m) => m.id)).toEqual(['tiny', 'a', 'b']);
      expect(list.data.every((m) => m.object === 'model' && m.owned_by === 'rankfold')).toBe(true);
      expect((await client.models.retrieve('a')).id).toBe('a');
    });

    gpuTest('completions and chat completions, plain and streamed', async () => {
      const c = await client.completions.create({ model: 'tiny', prompt: 'The capital of France is', max_tokens: 5, temperature: 0 });
      expect(c.object).toBe('text_completion');
      expect(typeof c.choices[0]!.text).toBe('string');
      expect(c.choices[0]!.finish_reason).toMatch(/^(length|stop)$/);
      expect(c.usage!.prompt_tokens).toBeGreaterThan(3);
      let streamed = '';
      for await (const ch of await client.completions.create({ model: 'tiny', prompt: 'The capital of France is', max_tokens: 5, temperature: 0, stream: true })) streamed += ch.choices[0]?.text ?? '';
      expect(streamed).toBe(c.choices[0]!.text);

      const messages = [{ role: 'system' as const, content: 'You are terse.' }, { role: 'user' as const, content: 'Say hi.' }];
      const chat = await client.chat.completions.create({ model: 'a', messages, max_tokens: 6, temperature: 0 });
      expect(chat.choices[0]!.message.role).toBe('assistant');
      const text = chat.choices[0]!.message.content!;
      let deltas = '';
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const ch of await client.chat.completions.create({ model: 'a', messages, max_tokens: 6, temperature: 0, stream: true, stream_options: { include_usage: true } })) {
        deltas += ch.choices[0]?.delta?.content ?? '';
        if (ch.usage) usage = ch.usage;
      }
      expect(deltas).toBe(text);
      expect(usage).toEqual(chat.usage);
      // The strict helper: role in the first delta, a finish_reason, indexes.
      const final = await client.chat.completions.stream({ model: 'a', messages, max_tokens: 6, temperature: 0 }).finalChatCompletion();
      expect(final.choices[0]!.message.content).toBe(text);
    });

    gpuTest('two adapters answer one prompt differently in one batch, each as it answers alone', async () => {
      const ask = (model: string) => client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
      const together = await Promise.all([ask('a'), ask('b'), ask('tiny')]);
      const texts = together.map((r) => r.choices[0]!.text);
      expect(new Set(texts).size).toBe(3);
      expect((await ask('a')).choices[0]!.text).toBe(texts[0]);
      expect((await ask('b')).choices[0]!.text).toBe(texts[1]);
      // Streams of the two adapters interleave over the one batch.
      const stream = async (model: string) => {
        let s = '';
        for await (const ch of await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0, stream: true })) s += ch.choices[0]?.text ?? '';
        return s;
      };
      expect(await Promise.all([stream('a'), stream('b')])).toEqual(texts.slice(0, 2));
    });

    gpuTest('stop strings end the text before them', async () => {
      const full = (await client.completions.create({ model: 'b', prompt: 'Once upon a time', max_tokens: 8, temperature: 0 })).choices[0]!;
      const cut = full.text.slice(2, 4);
      expect(cut.length).toBe(2);
      const stopped = (await client.completions.create({ model: 'b', prompt: 'Once upon a time', max_tokens: 8, temperature: 0, stop: [cut] })).choices[0]!;
      expect(stopped.finish_reason).toBe('stop');
      expect(stopped.text).toBe(full.text.slice(0, full.text.indexOf(cut)));
    });

    gpuTest('bad requests: 400 naming the field, 404 for an unknown model', async () => {
      const bad = async (body: Record<string, unknown>, status: number, message: RegExp) => {
        const err = await client.completions.create(body as never).then(() => undefined, (e: unknown) => e);
        expect(err, JSON.stringify(body)).toBeInstanceOf(OpenAI.APIError);
        expect((err as APIError).status, JSON.stringify(body)).toBe(status);
        expect((err as APIError).message).toMatch(message);
      };
      await bad({ model: 'nope', prompt: 'x' }, 404, /The model `nope` does not exist/);
      await bad({ model: 'a', prompt: 'x', temperature: 5 }, 400, /'temperature' must be >= 0 and <= 2, got 5/);
      await bad({ model: 'a', prompt: 'x', max_tokens: 0 }, 400, /'max_tokens' must be >= 1/);
      await bad({ model: 'a', prompt: 'x', max_tokens: 100000 }, 400, /maximum context length is 192 tokens/);
      await bad({ model: 'a', prompt: 'x', top_p: 0 }, 400, /'top_p' must be > 0/);
      await bad({ model: 'a', prompt: 'x', stop: ['a', 'b', 'c', 'd', 'e'] }, 400, /at most 4/);
      await bad({ model: 'a', prompt: 'x', n: 2 }, 400, /'n' is not supported/);
      await bad({ model: 'a', prompt: 'x', frobnicate: 1 }, 400, /Unrecognized request argument supplied: frobnicate/);
      await bad({ model: 'a' }, 400, /'prompt' is required/);
      await bad({ model: 'a', prompt: ['x', 'y'] }, 400, /one per request/);
      await bad({ model: 'a', prompt: [1, 2, 99999999] }, 400, /token id 99999999/);
      await bad({ prompt: 'x' }, 400, /'model' is required/);
      const chatErr = await client.chat.completions.create({ model: 'a', messages: [{ role: 'tool', content: 'x', tool_call_id: '1' }] }).catch((e: unknown) => e);
      expect((chatErr as APIError).status).toBe(400);
      expect((chatErr as APIError).message).toMatch(/messages\[0\]/);
      const raw = await fetch(`${server!.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": ' });
      expect(raw.status).toBe(400);
      expect(((await raw.json()) as { error: { message: string } }).error.message).toMatch(/JSON/);
    });

    gpuTest('loads and unloads adapters at run time', async () => {
      const admin = (method: string, p: string, body?: unknown) => fetch(`${server!.url}${p}`, { method, ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
      const loaded = await admin('POST', '/admin/adapters', { name: 'c', path: files.c });
      expect(loaded.status).toBe(201);
      expect(await loaded.json()).toMatchObject({ name: 'c', slot: 2, rank: 2 });
      expect((await client.models.list()).data.map((m) => m.id)).toEqual(['tiny', 'a', 'b', 'c']);
      const c = await client.completions.create({ model: 'c', prompt: 'Once upon a time', max_tokens: 4, temperature: 0 });
      expect(c.model).toBe('c');
      expect((await admin('POST', '/admin/adapters', { name: 'd', path: files.c })).status).toBe(409); // no free slot
      const gone = await admin('DELETE', '/admin/adapters/c');
      expect(await gone.json()).toMatchObject({ name: 'c', unloaded: true, active: 0 });
      expect((await client.models.list()).data.map((m) => m.id)).toEqual(['tiny', 'a', 'b']);
      const err = await client.completions.create({ model: 'c', prompt: 'x', max_tokens: 1 }).catch((e: unknown) => e);
      expect((err as APIError).status).toBe(404);
      expect((await admin('DELETE', '/admin/adapters/c')).status).toBe(404);
      const badDir = await admin('POST', '/admin/adapters', { name: 'e', path: path.join(dir, 'missing') });
      expect(badDir.status).toBe(400);
      expect(((await badDir.json()) as { error: { message: string } }).error.message).toMatch(/no such adapter directory/);
      // vLLM's routes do the same.
      expect((await admin('POST', '/v1/load_lora_adapter', { lora_name: 'c2', lora_path: files.c })).status).toBe(201);
      expect((await admin('POST', '/v1/unload_lora_adapter', { lora_name: 'c2' })).status).toBe(200);
    });

    gpuTest(`answers 429 under a flood with --max-queue ${MAX_QUEUE}, never a 5xx`, async () => {
      const statuses = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          client.completions.create({ model: i % 2 ? 'a' : 'b', prompt: `Request ${i}`, max_tokens: 24, temperature: 0.8, seed: i }).then(
            () => 200,
            (e: unknown) => (e instanceof OpenAI.APIError ? e.status ?? -1 : -2),
          ),
        ),
      );
      expect(statuses.every((s) => s === 200 || s === 429), statuses.join(',')).toBe(true);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(MAX_QUEUE);
      expect(server!.engine.stats).toMatchObject({ running: 0, waiting: 0 });
      // Served again once the flood is over.
      expect((await client.completions.create({ model: 'a', prompt: 'x', max_tokens: 2 })).choices).toHaveLength(1);
    });

    gpuTest('stops a request past --request-timeout with 408', async (gpu) => {
      const slow = await start(gpu, { requestTimeoutS: 0.05 });
      try {
        const c = new OpenAI({ baseURL: `${slow.url}/v1`, apiKey: 'sk-local', maxRetries: 0 });
        const err = await c.completions.create({ model: 'tiny', prompt: 'x', max_tokens: 180, temperature: 0 }).catch((e: unknown) => e);
        expect((err as APIError).status).toBe(408);
        expect((err as APIError).message).toMatch(/took longer than 0.05 s/);
      } finally {
        await slow.close();
      }
    });
  });
}
