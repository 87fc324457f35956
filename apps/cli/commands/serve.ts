import type { RegisterCommand } from './command.ts';
import { UserError } from '../../../compiler/errors.ts';
import { startServer } from '../../server/start.ts';
import { collect, floatArg, intArg, setArg, withBackend, type SetValues } from '../options.ts';

interface ServeFlags {
  model?: string;
  weights?: string;
  tokenizer?: string;
  config?: string;
  set?: SetValues;
  servedModelName?: string;
  adapter?: string[];
  host: string;
  port: number;
  maxQueue: number;
  maxSeqs: number;
  maxModelLen?: number;
  maxLoras?: number;
  maxLoraRank?: number;
  loraTargets?: string;
  prefillChunk: number;
  requestTimeout: number;
  shutdownTimeout: number;
  adminToken?: string;
  backend: string;
  log?: boolean;
}

/** NAME=DIR pairs of --adapter, names unique. */
export function adapterPairs(items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw new UserError(`--adapter wants NAME=DIR, got "${item}"`);
    const name = item.slice(0, eq);
    if (name in out) throw new UserError(`--adapter ${name} is given twice`);
    out[name] = item.slice(eq + 1);
  }
  return out;
}

/**
 * `rankfold serve --model DIR [--adapter NAME=DIR ...] --port P`: an OpenAI-compatible HTTP server
 * (apps/server) over the serving engine (runtime/serve). Runs until SIGTERM or SIGINT, which let the
 * admitted requests finish (--shutdown-timeout), end the rest, and exit 0.
 */
export const registerServe: RegisterCommand = (program) => {
  program
    .command('serve')
    .description('serve a model and many LoRA adapters over an OpenAI-compatible HTTP API, decoded together in one batch')
    .argument('[spec]', 'a model spec (.rf), with --weights (instead of --model)')
    .option('--model <dir>', 'a Hugging Face model folder (config.json, model.safetensors, tokenizer.json)')
    .option('--weights <file>', 'with a spec: base weights (Hugging Face safetensors)')
    .option('--tokenizer <dir|name>', 'with a spec: a folder holding tokenizer.json (and its chat template), or bytes / gpt2')
    .option('--config <config.json>', 'with a spec: bind spec parameters from a Hugging Face config.json')
    .option('--set <name=value>', 'with a spec: set a spec parameter (repeatable)', setArg)
    .option('--served-model-name <name>', 'the base model\'s id in requests (default: the folder\'s or weights file\'s name)')
    .option('--adapter <name=dir>', 'a PEFT adapter served as model NAME (repeatable)', collect)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', intArg, 8000)
    .option('--max-queue <n>', 'requests admitted at once, running and waiting; more get 429', intArg, 64)
    .option('--max-seqs <n>', 'sequences decoded together in one batch', intArg, 8)
    .option('--max-model-len <n>', 'context per sequence, prompt and completion (default min(2048, the model\'s positions))', intArg)
    .option('--max-loras <n>', 'adapter slots (default max(8, adapters given))', intArg)
    .option('--max-lora-rank <r>', 'highest adapter rank (default: the highest given, else 16)', intArg)
    .option('--lora-targets <list>', 'modules with adapter slots: comma-separated names (q_proj,v_proj) or all-linear (default: what the given adapters target, else all-linear)')
    .option('--prefill-chunk <n>', 'prompt tokens per prefill run', intArg, 32)
    .option('--request-timeout <s>', 'seconds a request may take before it is stopped with 408 (0 = no limit)', floatArg, 600)
    .option('--shutdown-timeout <s>', 'on SIGTERM, seconds admitted requests may still run before they are ended', floatArg, 30)
    .option('--admin-token <token>', 'bearer token for the /admin routes (without it they answer loopback clients only)')
    .option('--backend <name>', 'webgpu or interp (the CPU reference interpreter)', 'webgpu')
    .option('--log', 'one line per request on stderr')
    .action(async (spec: string | undefined, flags: ServeFlags) => {
      if (flags.model !== undefined && spec !== undefined) throw new UserError('give --model DIR or a spec, not both');
      if (flags.model === undefined && spec === undefined) throw new UserError('give --model DIR (a Hugging Face model folder) or a spec with --weights');
      if (spec !== undefined && flags.weights === undefined) throw new UserError(`${spec}: a spec needs --weights FILE`);
      if (flags.model !== undefined) {
        for (const f of ['weights', 'tokenizer', 'config', 'set'] as const) if (flags[f] !== undefined) throw new UserError(`--${f} goes with a spec; --model reads it from the folder`);
      }
      const adapters = adapterPairs(flags.adapter ?? []);
      const targets = flags.loraTargets?.split(',').map((t) => t.trim()).filter((t) => t !== '');
      await withBackend(flags.backend, async (backend, gpu) => {
        const server = await startServer({
          ...(flags.model !== undefined ? { model: flags.model } : { spec: { spec: spec!, weights: flags.weights!, ...(flags.tokenizer ? { tokenizer: flags.tokenizer } : {}), ...(flags.config ? { config: flags.config } : {}), ...(flags.set ? { set: flags.set } : {}) } }),
          ...(flags.servedModelName !== undefined ? { servedName: flags.servedModelName } : {}),
          adapters,
          host: flags.host,
          port: flags.port,
          maxQueue: flags.maxQueue,
          maxSeqs: flags.maxSeqs,
          ...(flags.maxModelLen !== undefined ? { maxModelLen: flags.maxModelLen } : {}),
          ...(flags.maxLoras !== undefined ? { maxLoras: flags.maxLoras } : {}),
          ...(flags.maxLoraRank !== undefined ? { maxLoraRank: flags.maxLoraRank } : {}),
          ...(targets !== undefined ? { loraTargets: targets } : {}),
          prefillChunk: flags.prefillChunk,
          requestTimeoutS: flags.requestTimeout,
          shutdownTimeoutS: flags.shutdownTimeout,
          ...(flags.adminToken !== undefined ? { adminToken: flags.adminToken } : {}),
          backend,
          ...(gpu ? { gpu } : {}),
          ...(flags.log ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
        }).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') throw new UserError(`cannot listen on ${flags.host}:${flags.port} (${err.code})`);
          throw err;
        });
        const e = server.engine;
        const names = e.adapters().map((a) => a.name);
        console.log(`serving ${e.model.name}${names.length > 0 ? ` and adapters ${names.join(', ')}` : ''} on ${server.url} (batch ${flags.maxSeqs}, context ${e.options.maxModelLen}, ${e.options.adapters.slots} adapter slots of rank <= ${e.options.adapters.maxRank}, backend ${backend})`);
        await new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            console.log(`${signal}: finishing admitted requests (up to ${flags.shutdownTimeout} s), then exiting`);
            void server.close().then(resolve, resolve);
          };
          process.once('SIGTERM', () => stop('SIGTERM'));
          process.once('SIGINT', () => stop('SIGINT'));
        });
        console.log('stopped');
      });
    });
};
