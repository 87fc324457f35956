// `rankfold serve` as a process: it starts from the command line (a model folder and NAME=DIR
// adapters), answers the openai client, answers 429 under a flood with --max-queue 4 and never a
// 5xx, and on SIGTERM finishes the request in flight and exits 0. Ending requests that outlast the
// shutdown grace is tested in-process (no timing in a child process); bad flags exit 1 in one line.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import OpenAI, { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.ts';
import { startServer } from '../../../apps/server/start.ts';
import { gpuTest } from '../../helpers/gpu.ts';
import { folderModel, writeRandomAdapter, writeTinyFolder } from '../../helpers/serve-fixtures.ts';
import { REPO, tmpDir } from '../../runtime/train/fixtures.ts';

function serveProcess(args: string[]) {
  const child = spawn(process.execPath, [path.join(REPO, 'bin/rankfold.js'), 'serve', ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const url = new Promise<string>((resolve, reject) => {
    const look = () => {
      const m = / on (http:\/\/127\.0\.0\.1:\d+) /.exec(stdout);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', look);
    void exited.then(({ code }) => reject(new Error(`serve exited (${code}) before listening:\n${stdout}\n${stderr}`)));
  });
  return { child, url, exited, output: () => ({ stdout, stderr }) };
}

/** The CLI in-process: its exit status and stderr (these refusals print nothing else). */
const run = async (args: string[]) => (({ code, err }) => ({ code, err }))(await runCli(args));

describe('rankfold serve (process)', () => {
  it('starts from the command line, floods to 429 without a 5xx, and exits 0 on SIGTERM after finishing the request in flight', async () => {
    const dir = tmpDir('serve-cli');
    const model = writeTinyFolder(path.join(dir, 'model'), 'llama');
    const a = writeRandomAdapter(path.join(dir, 'a'), folderModel('llama'), { targets: ['q_proj', 'v_proj'], r: 4, seed: 3 });
    const p = serveProcess(['--model', model, '--adapter', `a=${a}`, '--port', '0', '--max-queue', '4', '--max-seqs', '4', '--max-model-len', '128', '--shutdown-timeout', '120']);
    try {
      const client = new OpenAI({ baseURL: `${await p.url}/v1`, apiKey: 'sk-local', maxRetries: 0 });
      expect((await client.models.list()).data.map((m) => m.id)).toEqual(['model', 'a']);
      const statuses = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          client.completions.create({ model: i % 2 ? 'a' : 'model', prompt: `flood ${i}`, max_tokens: 16, temperature: 0 }).then(
            () => 200,
            (e: unknown) => (e instanceof APIError ? e.status ?? -1 : -2),
          ),
        ),
      );
      expect(statuses.every((s) => s === 200 || s === 429), statuses.join(',')).toBe(true);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
      // A request in flight when SIGTERM arrives is finished (the grace is long), then the process exits 0.
      let text = '';
      let finish: string | null | undefined;
      const stream = await client.completions.create({ model: 'a', prompt: 'Once upon a time', max_tokens: 12, temperature: 0, stream: true });
      let signalled = false;
      for await (const ch of stream) {
        if (!signalled) {
          p.child.kill('SIGTERM');
          signalled = true;
        }
        text += ch.choices[0]?.text ?? '';
        finish = ch.choices[0]?.finish_reason ?? finish;
      }
      expect(signalled).toBe(true);
      expect(finish).toBe('length');
      expect(text.length).toBeGreaterThan(0);
      expect(await p.exited).toEqual({ code: 0, signal: null });
      expect(p.output().stdout).toMatch(/SIGTERM: finishing admitted requests \(up to 120 s\), then exiting\nstopped\n$/);
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('refuses bad flags in one line', async () => {
    expect(await run(['serve'])).toEqual({ code: 1, err: 'rankfold: give --model DIR (a Hugging Face model folder) or a spec with --weights\n' });
    expect(await run(['serve', '--model', '/nonexistent/model'])).toEqual({ code: 1, err: 'rankfold: /nonexistent/model: no such model folder\n' });
    expect(await run(['serve', '--model', 'x', '--adapter', 'noequals'])).toEqual({ code: 1, err: 'rankfold: --adapter wants NAME=DIR, got "noequals"\n' });
    expect(await run(['serve', 'dsl-examples/llama.rf'])).toEqual({ code: 1, err: 'rankfold: dsl-examples/llama.rf: a spec needs --weights FILE\n' });
    expect(await run(['serve', '--model', 'x', '--weights', 'w.safetensors'])).toEqual({ code: 1, err: 'rankfold: --weights goes with a spec; --model reads it from the folder\n' });
  });
});

describe('shutdown', () => {
  gpuTest('ends requests that outlast the grace: a stream gets an error event and [DONE], a plain request 503', async (gpu) => {
    const dir = tmpDir('serve-shutdown');
    const server = await startServer({
      model: writeTinyFolder(path.join(dir, 'model'), 'llama'),
      host: '127.0.0.1', port: 0, maxQueue: 4, maxSeqs: 2, maxModelLen: 256, prefillChunk: 8,
      requestTimeoutS: 0, shutdownTimeoutS: 0, backend: 'webgpu', gpu,
    });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-local', maxRetries: 0 });
    const plain = client.completions.create({ model: 'model', prompt: 'x', max_tokens: 240 }).then(() => 200, (e: unknown) => (e as APIError).status);
    const stream = await client.completions.create({ model: 'model', prompt: 'y', max_tokens: 240, stream: true });
    let received = 0;
    let closing: Promise<void> | undefined;
    const error = await (async () => {
      for await (const ch of stream) {
        received += ch.choices.length;
        closing ??= server.close();
      }
    })().then(() => undefined, (e: unknown) => e);
    await closing;
    expect(received).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).message).toMatch(/shutting down/);
    expect(await plain).toBe(503);
  });
});
