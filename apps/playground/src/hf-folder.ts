// A Hugging Face model folder picked from disk: config.json chooses the shipped spec (by
// model_type) and binds its sizes, the weights (model.safetensors, or an index and its shards) are
// opened file by file and checked against the spec, and the model runs a few greedy tokens.
import { baseFromFiles, continueIds, modelForConfig, type GpuContext, type SafetensorsFile } from './engine.ts';
import { byId } from './dom.ts';
import { FileByteSource, folderFiles, folderName, openWeights, readText } from './file-source.ts';
import { SPECS_BY_MODEL_TYPE } from './specs.ts';

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

function parseJson(text: string, source: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${source}: not a JSON object`);
  return value as Record<string, unknown>;
}

/** Which file holds each tensor: the index's weight_map, or every tensor of model.safetensors. */
async function openFolderWeights(files: Map<string, File>, dir: string): Promise<Map<string, SafetensorsFile>> {
  const byTensor = new Map<string, SafetensorsFile>();
  const indexFile = files.get(INDEX);
  if (indexFile) {
    const index = parseJson(await indexFile.text(), `${dir}/${INDEX}`);
    const map = index['weight_map'];
    if (typeof map !== 'object' || map === null) throw new Error(`${dir}/${INDEX}: no weight_map`);
    const opened = new Map<string, SafetensorsFile>();
    for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\')) throw new Error(`${dir}/${INDEX}: "${tensor}" names a bad shard ${JSON.stringify(shard)}`);
      let file = opened.get(shard);
      if (!file) {
        const f = files.get(shard);
        if (!f) throw new Error(`${dir}: shard ${shard} (named in ${INDEX}) is missing`);
        file = await openWeights(new FileByteSource(f, `${dir}/${shard}`));
        opened.set(shard, file);
      }
      if (!file.has(tensor)) throw new Error(`${dir}/${shard}: no tensor "${tensor}" (${INDEX} says it is there)`);
      byTensor.set(tensor, file);
    }
    return byTensor;
  }
  const single = files.get(SINGLE);
  if (!single) throw new Error(`${dir}: no ${SINGLE} or ${INDEX} (Rankfold reads safetensors weights only)`);
  const file = await openWeights(new FileByteSource(single, `${dir}/${SINGLE}`));
  for (const name of file.names) byTensor.set(name, file);
  return byTensor;
}

export async function loadFolder(list: FileList, gpu: GpuContext | undefined): Promise<string> {
  const dir = folderName(list);
  const files = folderFiles(list);
  const lines: string[] = [];
  const cfgFile = files.get('config.json');
  if (!cfgFile) throw new Error(`${dir}: no config.json (a Hugging Face model folder has config.json and the weights)`);
  const config = parseJson(await readText(new FileByteSource(cfgFile, `${dir}/config.json`)), `${dir}/config.json`);
  const modelType = String(config['model_type'] ?? '');
  const spec = SPECS_BY_MODEL_TYPE[modelType];
  if (!spec) throw new Error(`${dir}/config.json: model_type "${modelType}" has no shipped spec (known: ${Object.keys(SPECS_BY_MODEL_TYPE).join(', ')})`);
  const model = modelForConfig(spec.text, spec.file, config);
  lines.push(`${dir}: ${modelType} through ${spec.file}, ${model.counts.base.toLocaleString('en-US')} parameters (${files.size} files)`);

  const t0 = performance.now();
  const byTensor = await openFolderWeights(files, dir);
  const weights = baseFromFiles(model, byTensor, dir);
  let bytes = 0;
  for (const w of weights.values()) bytes += w.byteLength;
  lines.push(`weights: ${weights.size} tensors, ${(bytes / 1024).toFixed(0)} KiB as f32, every shape as the spec says (${(performance.now() - t0).toFixed(0)} ms)`);
  const shown = [...byTensor.entries()].slice(0, 8);
  const width = Math.max(...shown.map(([name]) => name.length)) + 2;
  for (const [name, file] of shown) {
    const info = file.info(name);
    lines.push(`  ${name.padEnd(width)} ${info.dtype.padEnd(5)} [${info.shape.join(', ')}]`);
  }
  if (byTensor.size > shown.length) lines.push(`  … and ${byTensor.size - shown.length} more`);

  if (gpu) {
    const prompt = [1, 5, 9, 13];
    const ids = await continueIds(gpu, model, weights, prompt, 8);
    lines.push(`runs: greedy continuation of token ids [${prompt.join(', ')}] -> [${ids.join(', ')}]`);
  } else {
    lines.push('runs: needs WebGPU (see the top of the page)');
  }
  return lines.join('\n');
}

export function wireFolderPicker(gpu: () => GpuContext | undefined): void {
  const input = byId<HTMLInputElement>('hf-folder');
  const out = byId<HTMLPreElement>('hf-result');
  input.addEventListener('change', async () => {
    if (!input.files?.length) return;
    out.textContent = 'reading…';
    out.dataset.state = 'busy';
    try {
      out.textContent = await loadFolder(input.files, gpu());
      out.dataset.state = 'done';
    } catch (err) {
      out.textContent = (err as Error).message;
      out.dataset.state = 'error';
    }
    input.value = '';
  });
}
