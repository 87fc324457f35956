// HfFolder over any FolderSource: the folder validation and streamed tensors ModelFolder runs on disk,
// here on files held in memory (as a page holds the files a directory picker gave), and the streamed
// base weights against the whole-file reader.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HfFolder, type FolderSource } from '../../../runtime/io/hf-folder.ts';
import { ModelFolder } from '../../../runtime/io/model-folder.ts';
import { readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { loadSpec, EXAMPLES_DIR } from '../../../runtime/model/load-spec.ts';
import { readBaseWeights, streamBaseWeights } from '../../../runtime/model/weights.ts';

const FIXTURE = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'conformance', 'llama_qv_r4');

/** A folder held in memory: what a page has after a directory picker. */
function memoryFolder(name: string, files: Record<string, Uint8Array>): FolderSource {
  const get = (f: string) => {
    const bytes = files[f];
    if (!bytes) throw new Error(`${name}/${f}: missing`);
    return bytes;
  };
  return {
    name,
    path: (f) => `${name}/${f}`,
    has: (f) => f in files,
    text: async (f) => new TextDecoder().decode(get(f)),
    open: async (f) => {
      const bytes = get(f);
      return { name: `${name}/${f}`, size: bytes.byteLength, read: async (p, n) => bytes.slice(p, p + n), close: async () => {} };
    },
  };
}

const fixtureFiles = () => ({
  'config.json': new Uint8Array(fs.readFileSync(path.join(FIXTURE, 'config.json'))),
  'model.safetensors': new Uint8Array(fs.readFileSync(path.join(FIXTURE, 'model.safetensors'))),
});

describe('HfFolder over a FolderSource', () => {
  it('opens a folder held in memory as ModelFolder opens it on disk, and streams the same weights', async () => {
    const mem = await HfFolder.openSource(memoryFolder('picked', fixtureFiles()));
    const disk = await ModelFolder.open(FIXTURE);
    try {
      expect(mem.modelType).toBe('llama');
      expect(mem.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(disk.tensors.map((t) => [t.name, t.dtype, t.shape]));
      const model = loadSpec(path.join(EXAMPLES_DIR, 'llama.rf'), { config: mem.config });
      const streamed = await streamBaseWeights(model, mem);
      const whole = readBaseWeights(model, readSafetensorsFile(path.join(FIXTURE, 'model.safetensors')));
      expect([...streamed.keys()]).toEqual([...whole.keys()]);
      for (const [name, data] of whole) expect(streamed.get(name)).toEqual(data);
      expect(await streamBaseWeights(model, disk)).toEqual(streamed);
    } finally {
      await mem.close();
      await disk.close();
    }
  });

  it('says what is wrong with a picked folder in the same words as on disk', async () => {
    const files = fixtureFiles();
    await expect(HfFolder.openSource(memoryFolder('picked', { 'model.safetensors': files['model.safetensors'] }))).rejects.toThrow('picked: not a Hugging Face model folder (no config.json)');
    await expect(HfFolder.openSource(memoryFolder('picked', { 'config.json': files['config.json'] }))).rejects.toThrow('picked: no model.safetensors or model.safetensors.index.json');
    const index = new TextEncoder().encode(JSON.stringify({ metadata: { total_size: 1 }, weight_map: { 'model.norm.weight': 'model-00001-of-00002.safetensors' } }));
    await expect(HfFolder.openSource(memoryFolder('picked', { 'config.json': files['config.json'], 'model.safetensors.index.json': index }))).rejects.toThrow(
      'picked/model.safetensors.index.json: shard model-00001-of-00002.safetensors is missing from the folder',
    );
    const truncated = files['model.safetensors'].slice(0, 100);
    await expect(HfFolder.openSource(memoryFolder('picked', { 'config.json': files['config.json'], 'model.safetensors': truncated }))).rejects.toThrow(/picked\/model\.safetensors/);
  });

  it('refuses a tensor whose shape is not the spec\'s, naming the folder', async () => {
    const mem = await HfFolder.openSource(memoryFolder('picked', fixtureFiles()));
    try {
      const wider = loadSpec(path.join(EXAMPLES_DIR, 'llama.rf'), { config: { ...mem.config, hidden_size: 64 } });
      await expect(streamBaseWeights(wider, mem)).rejects.toThrow(/^picked: tensor "model\.embed_tokens\.weight" has shape \[96, 32\] but .*llama\.rf expects \[96, 64\]/);
    } finally {
      await mem.close();
    }
  });
});
