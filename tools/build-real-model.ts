// Writes a full-width Hugging Face folder with random bf16 weights and the real tokenizer
// (tools/real-models.ts), for trying Rankfold at real sizes without downloading a model:
//
//   npx tsx tools/build-real-model.ts qwen2.5-0.5b|llama-3.2-1b OUT_DIR [--layers N] [--max-shard-size 300MB]
//                                     [--set key=json ...]   (config.json fields, e.g. --set model_type='"llama"')
import { buildRealModelFolder, REAL_MODELS, type RealModel } from './real-models.ts';

async function main(argv: string[]): Promise<void> {
  const [which, dir, ...rest] = argv.filter((a) => a !== '--');
  if (!which || !dir || !(which in REAL_MODELS)) throw new Error(`usage: build-real-model.ts ${Object.keys(REAL_MODELS).join('|')} OUT_DIR [--layers N] [--max-shard-size SIZE] [--set key=json]`);
  let layers: number | undefined;
  let maxShardSize: string | undefined;
  const config: Record<string, unknown> = {};
  for (let i = 0; i < rest.length; i++) {
    const k = rest[i]!;
    const v = rest[++i];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === '--layers') layers = Number(v);
    else if (k === '--max-shard-size') maxShardSize = v;
    else if (k === '--set') {
      const eq = v.indexOf('=');
      config[v.slice(0, eq)] = JSON.parse(v.slice(eq + 1));
    } else throw new Error(`unknown option ${k}`);
  }
  const t0 = performance.now();
  const { written } = await buildRealModelFolder(which as RealModel, dir, { ...(layers !== undefined ? { layers } : {}), ...(maxShardSize ? { maxShardSize } : {}), config, overwrite: true });
  console.log(`${written.dir}: ${written.shards.join(', ')}, ${(written.totalSize / 1e9).toFixed(3)} GB, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
