// What `rankfold serve` refuses when it loads a model, before anything compiles: a folder whose
// tensors the spec does not describe (both ways, as train --model), and, with a spec and --weights,
// a tokenizer that is not the model's or none at all for a vocabulary no built-in tokenizer fits.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModelFolder, loadSpecModel } from '../../../runtime/serve/model-source.ts';
import { hfTensors } from '../../../runtime/model/base-weights.ts';
import { initBaseWeights } from '../../../runtime/model/weights.ts';
import { serializeSafetensors, type TensorInput } from '../../../runtime/io/safetensors.ts';
import { specForModelType } from '../../../runtime/model/load-spec.ts';
import { folderModel, writeTinyFolder } from '../../helpers/serve-fixtures.ts';
import { tmpDir } from '../train/fixtures.ts';

/** The tiny Llama folder with its weights file rewritten by `edit`. */
function editedFolder(tag: string, edit: (t: Map<string, TensorInput>) => void): string {
  const dir = writeTinyFolder(path.join(tmpDir(`serve-source-${tag}`), 'model'), 'llama');
  const model = folderModel('llama');
  const tensors = hfTensors(model, initBaseWeights(model, 1));
  edit(tensors);
  fs.writeFileSync(path.join(dir, 'model.safetensors'), serializeSafetensors(tensors));
  return dir;
}

describe('serving model sources', () => {
  it('refuses a folder with a tensor the spec does not read, or without one it needs', async () => {
    const extra = editedFolder('extra', (t) => t.set('model.layers.0.self_attn.q_proj.bias', { shape: [32], data: new Float32Array(32) }));
    await expect(loadModelFolder(extra)).rejects.toThrow(/1 tensor of the folder is not in .*llama\.rf \(model\.layers\.0\.self_attn\.q_proj\.bias\)/);
    const missing = editedFolder('missing', (t) => t.delete('model.layers.1.mlp.up_proj.weight'));
    await expect(loadModelFolder(missing)).rejects.toThrow(/missing model\.layers\.1\.mlp\.up_proj\.weight/);
  });

  it('with a spec and --weights: the tokenizer rules of train and generate', async () => {
    const folder = writeTinyFolder(path.join(tmpDir('serve-source-spec'), 'model'), 'llama');
    const base = { spec: specForModelType('llama'), weights: path.join(folder, 'model.safetensors'), config: path.join(folder, 'config.json') };
    await expect(loadSpecModel(base)).rejects.toThrow(/has a vocabulary of 128256, which no built-in tokenizer fits/);
    await expect(loadSpecModel({ ...base, tokenizer: 'gpt2' })).rejects.toThrow(/tokenizer gpt2 has 50257 ids but .* has a vocabulary of 128256: .* not this model's/);
    const ok = await loadSpecModel({ ...base, tokenizer: folder });
    expect(ok.tokenizer.vocabSize).toBe(128256);
    expect(ok.paramDtypes['model.embed_tokens.weight']).toBe('f32');
  });
});
