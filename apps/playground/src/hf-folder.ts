// A Hugging Face model folder picked from disk, read as Node reads one: HfFolder validates config.json,
// the index and every shard header, config.json's model_type chooses the shipped spec and binds its
// sizes, the weights stream in one tensor at a time (shapes checked against the spec), and the model
// runs a few greedy tokens.
import { FOLDER_PROMPT, continueIds, folderWeights, modelForConfig, openFolder, type GpuContext } from './engine.ts';
import { byId } from './dom.ts';
import { pickedFolder } from './file-source.ts';
import { SPECS_BY_MODEL_TYPE } from './specs.ts';

export async function loadFolder(list: FileList, gpu: GpuContext | undefined): Promise<string> {
  const folder = await openFolder(pickedFolder(list));
  try {
    const lines: string[] = [];
    const modelType = folder.modelType ?? '';
    const spec = SPECS_BY_MODEL_TYPE[modelType];
    if (!spec) throw new Error(`${folder.dir}/config.json: model_type "${modelType}" has no shipped spec (known: ${Object.keys(SPECS_BY_MODEL_TYPE).join(', ')})`);
    const model = modelForConfig(spec.text, spec.file, folder.config);
    const sharded = folder.index ? `${folder.files.length} shards` : folder.files[0]!;
    lines.push(`${folder.dir}: ${modelType} through ${spec.file}, ${model.counts.base.toLocaleString('en-US')} parameters in ${sharded}`);

    const t0 = performance.now();
    const weights = await folderWeights(model, folder);
    let bytes = 0;
    for (const w of weights.values()) bytes += w.byteLength;
    lines.push(`weights: ${weights.size} tensors streamed one at a time (${(bytes / 1024).toFixed(0)} KiB as f32, ${(performance.now() - t0).toFixed(0)} ms),`, '         every shape as the spec says:');
    const shown = folder.tensors.slice(0, 8);
    const width = Math.max(...shown.map((t) => t.name.length)) + 2;
    for (const t of shown) lines.push(`  ${t.name.padEnd(width)} ${t.dtype.padEnd(5)} [${t.shape.join(', ')}]`);
    if (folder.tensors.length > shown.length) lines.push(`  … and ${folder.tensors.length - shown.length} more`);

    if (gpu) {
      const ids = await continueIds(gpu, model, weights, FOLDER_PROMPT, 8);
      lines.push(`runs: greedy continuation of token ids [${FOLDER_PROMPT.join(', ')}] -> [${ids.join(', ')}]`);
    } else {
      lines.push('runs: needs WebGPU (see the top of the page)');
    }
    return lines.join('\n');
  } finally {
    await folder.close();
  }
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
