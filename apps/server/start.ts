// Starting a server: the model (a folder, or a spec with weights and tokenizer), the engine with
// its stacked adapter slots sized from the adapters given at start, the HTTP app, listening.
// `rankfold serve` is a thin shell over startServer; tests and benchmarks call it in-process.
import { UserError } from '../../compiler/errors.ts';
import type { GpuContext } from '../../runtime/device/device.ts';
import type { BackendName } from '../../runtime/exec/executor.ts';
import { adapterTargets } from '../../runtime/serve/adapter-registry.ts';
import { Engine } from '../../runtime/serve/engine.ts';
import { loadModelFolder, loadSpecModel, type ServeModel, type SpecSourceOptions } from '../../runtime/serve/model-source.ts';
import { buildServer } from './app.ts';
import type { FastifyInstance } from 'fastify';

export interface StartOptions {
  /** A Hugging Face model folder, or a spec with weights (one of the two). */
  model?: string;
  spec?: Omit<SpecSourceOptions, 'name'>;
  servedName?: string;
  /** name -> PEFT adapter folder, loaded at start. */
  adapters?: Record<string, string>;
  host: string;
  port: number;
  maxQueue: number;
  /** Sequences decoded together. */
  maxSeqs: number;
  /** Context per sequence (default min(2048, the model's positions)). */
  maxModelLen?: number;
  /** Adapter slots (default max(8, adapters given)). */
  maxLoras?: number;
  /** Highest adapter rank (default the highest given at start, else 16). */
  maxLoraRank?: number;
  /** Modules with adapter slots: PEFT-style names or 'all-linear' (default: what the start adapters target, else all-linear). */
  loraTargets?: string[];
  prefillChunk: number;
  requestTimeoutS: number;
  shutdownTimeoutS: number;
  adminToken?: string;
  backend: BackendName;
  gpu?: GpuContext;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  engine: Engine;
  /** Drains (shutdown grace), then closes the sockets and releases the engine. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_MODEL_LEN = 2048;
export const DEFAULT_MAX_LORAS = 8;
export const DEFAULT_MAX_LORA_RANK = 16;

async function loadModel(o: StartOptions): Promise<ServeModel> {
  if ((o.model === undefined) === (o.spec === undefined)) throw new UserError('give either --model DIR or a spec with --weights');
  const name = o.servedName !== undefined ? { name: o.servedName } : {};
  return o.model !== undefined ? loadModelFolder(o.model, name) : loadSpecModel({ ...o.spec!, ...name });
}

export async function startServer(o: StartOptions): Promise<RunningServer> {
  for (const [flag, v] of [['--max-queue', o.maxQueue], ['--max-seqs', o.maxSeqs], ['--prefill-chunk', o.prefillChunk], ['--max-model-len', o.maxModelLen], ['--max-loras', o.maxLoras], ['--max-lora-rank', o.maxLoraRank]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new UserError(`${flag} must be a positive integer, got ${v}`);
  }
  if (!(o.requestTimeoutS >= 0) || !(o.shutdownTimeoutS >= 0)) throw new UserError('--request-timeout and --shutdown-timeout must be >= 0 (seconds; 0 = no limit / no grace)');
  if (!(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535)) throw new UserError(`--port must be 0..65535, got ${o.port}`);
  const model = await loadModel(o);
  const adapters = Object.entries(o.adapters ?? {});
  for (const [name] of adapters) if (name === model.name) throw new UserError(`--adapter ${name}: the base model is served under that name (--served-model-name)`);
  const found = adapters.map(([, dir]) => adapterTargets(model.model, dir));
  const targets = o.loraTargets ?? (found.length > 0 ? [...new Set(found.flatMap((f) => f.modules))] : ['all-linear']);
  const maxRank = o.maxLoraRank ?? (found.length > 0 ? Math.max(...found.map((f) => f.rank)) : DEFAULT_MAX_LORA_RANK);
  const maxModelLen = o.maxModelLen ?? Math.min(DEFAULT_MAX_MODEL_LEN, model.maxPositions ?? DEFAULT_MAX_MODEL_LEN);
  const engine = await Engine.create(model, {
    backend: o.backend,
    ...(o.gpu ? { gpu: o.gpu } : {}),
    rows: o.maxSeqs,
    maxModelLen,
    prefillChunk: Math.min(o.prefillChunk, maxModelLen),
    maxQueue: o.maxQueue,
    adapters: { slots: o.maxLoras ?? Math.max(DEFAULT_MAX_LORAS, adapters.length), maxRank, targets },
  });
  let app: FastifyInstance | undefined;
  try {
    for (const [name, dir] of adapters) engine.loadAdapter(name, dir);
    app = buildServer({
      engine,
      requestTimeoutMs: o.requestTimeoutS * 1000,
      shutdownGraceMs: o.shutdownTimeoutS * 1000,
      ...(o.adminToken !== undefined ? { adminToken: o.adminToken } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
    const url = await app.listen({ host: o.host, port: o.port });
    const server = app;
    let closing: Promise<void> | undefined;
    return { url, app: server, engine, close: () => (closing ??= server.close()) };
  } catch (err) {
    if (app) await app.close();
    else await engine.shutdown({ graceMs: 0 });
    throw err;
  }
}
