import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../../compiler/errors.ts';
import { fromFloat32, toFloat32, type StoredTensor } from '../../../runtime/io/dtypes.ts';
import { ModelFolder, readTokenizerFiles } from '../../../runtime/io/model-folder.ts';
import { writeModelFolder, type TensorSource } from '../../../runtime/io/model-folder-write.ts';
import { parseSafetensors, serializeSafetensors } from '../../../runtime/io/safetensors.ts';
import { configWithDtype, parseSize, planShards, tiedWeightsToOmit } from '../../../runtime/io/hf-shards.ts';
import { configDtype, readSpecialIds } from '../../../runtime/io/hf-config.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-folder-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = (label: string) => path.join(tmp, `${label}-${n++}`);

async function rejects(p: Promise<unknown> | (() => unknown), ...parts: (string | RegExp)[]): Promise<void> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(UserError);
  for (const part of parts) expect((caught as Error).message).toMatch(part);
}

const CONFIG = `{
  "_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct",
  "architectures": ["Qwen2ForCausalLM"],
  "model_type": "qwen2",
  "rope_theta": 1000000.0,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "vocab_size": 8
}
`;

/** A tiny qwen2-like set of bf16 tensors, the head tied to the embedding. */
function tinyModel(): Map<string, StoredTensor> {
  const t = (shape: number[], seed: number) => fromFloat32(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed + i) * 0.1), 'BF16', shape);
  return new Map([
    ['model.embed_tokens.weight', t([8, 4], 1)],
    ['model.layers.0.self_attn.q_proj.weight', t([4, 4], 2)],
    ['model.layers.0.self_attn.q_proj.bias', t([4], 3)],
    ['model.norm.weight', t([4], 4)],
    ['lm_head.weight', t([8, 4], 1)],
  ]);
}

function sources(m: Map<string, StoredTensor>): TensorSource[] {
  return [...m].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, read: async () => t }));
}

describe('shard planning (huggingface_hub semantics)', () => {
  it('packs greedily, gives oversized tensors their own shard, names shards like save_pretrained', () => {
    const plan = planShards([{ name: 'a', bytes: 3 }, { name: 'big', bytes: 10 }, { name: 'b', bytes: 3 }, { name: 'c', bytes: 3 }], 6);
    expect(plan).toEqual([
      { file: 'model-00001-of-00003.safetensors', names: ['big'] },
      { file: 'model-00002-of-00003.safetensors', names: ['a', 'b'] },
      { file: 'model-00003-of-00003.safetensors', names: ['c'] },
    ]);
    expect(planShards([{ name: 'a', bytes: 3 }], 6)).toEqual([{ file: 'model.safetensors', names: ['a'] }]);
    expect(parseSize('5GB')).toBe(5e9);
    expect(parseSize('2GiB')).toBe(2 ** 31);
    expect(parseSize('500MB')).toBe(5e8);
    expect(() => parseSize('5 parsecs')).toThrow(UserError);
    expect(() => parseSize(0)).toThrow(UserError);
  });

  it('omits the tied head only when embeddings are tied (config, else the model type default)', () => {
    const names = ['model.embed_tokens.weight', 'lm_head.weight'];
    expect(tiedWeightsToOmit({ tie_word_embeddings: true }, names)).toEqual(['lm_head.weight']);
    expect(tiedWeightsToOmit({ tie_word_embeddings: false, model_type: 'gemma' }, names)).toEqual([]);
    expect(tiedWeightsToOmit({ model_type: 'gemma' }, names)).toEqual(['lm_head.weight']);
    expect(tiedWeightsToOmit({ model_type: 'llama' }, names)).toEqual([]);
    expect(tiedWeightsToOmit({ tie_word_embeddings: true }, ['lm_head.weight'])).toEqual([]); // nothing to tie it to
  });

  it('sets dtype and torch_dtype in config.json, keeping the rest of the text as written', () => {
    const out = configWithDtype(CONFIG, 'F32', 'config.json');
    expect(out).toContain('"rope_theta": 1000000.0'); // a Python float stays one
    expect(JSON.parse(out)).toMatchObject({ dtype: 'float32', torch_dtype: 'float32', model_type: 'qwen2' });
    expect(Object.keys(JSON.parse(out))).toHaveLength(Object.keys(JSON.parse(CONFIG)).length + 1);
    expect(JSON.parse(configWithDtype('{}', 'BF16', 'c'))).toEqual({ dtype: 'bfloat16', torch_dtype: 'bfloat16' });
  });
});

describe('config fields', () => {
  it('reads dtype (5.x) before torch_dtype (4.x), and refuses unknown names', () => {
    expect(configDtype({ torch_dtype: 'float16' }, 'c')).toBe('F16');
    expect(configDtype({ dtype: 'bfloat16', torch_dtype: 'float32' }, 'c')).toBe('BF16');
    expect(configDtype({ torch_dtype: 'auto' }, 'c')).toBeUndefined();
    expect(() => configDtype({ dtype: 'int4' }, 'c')).toThrow(/"dtype": "int4"/);
  });

  it('eos_token_id may be an int or a list; ids must be non-negative integers', () => {
    expect(readSpecialIds({ eos_token_id: 2, bos_token_id: 1 }, 'g')).toEqual({ bos: 1, eos: [2], pad: undefined });
    expect(readSpecialIds({ eos_token_id: [151645, 151643], pad_token_id: 151643 }, 'g')).toEqual({ bos: undefined, eos: [151645, 151643], pad: 151643 });
    expect(() => readSpecialIds({ eos_token_id: [1, 'x'] }, 'g.json')).toThrow(/g.json: "eos_token_id\[1\]"/);
  });
});

describe('writing and reading a model folder', () => {
  it('writes bf16 shards + index + config + copied files, and reads them back tensor by tensor', async () => {
    const src = fresh('src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'tokenizer.json'), '{"model": {}}');
    fs.writeFileSync(path.join(src, 'generation_config.json'), '{"eos_token_id": [151645, 151643], "bos_token_id": 151643}');
    const model = tinyModel();
    const out = fresh('out');
    const written = await writeModelFolder(out, sources(model), {
      config: CONFIG,
      maxShardSize: 70, // forces several shards
      files: [{ name: 'tokenizer.json', from: path.join(src, 'tokenizer.json') }, { name: 'generation_config.json', from: path.join(src, 'generation_config.json') }],
    });
    expect(written.omitted).toEqual(['lm_head.weight']);
    expect(written.shards).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(fs.readdirSync(out).sort()).toEqual(['config.json', 'generation_config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json']);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);

    const indexText = fs.readFileSync(path.join(out, 'model.safetensors.index.json'), 'utf8');
    const index = JSON.parse(indexText);
    const names = [...model.keys()].filter((k) => k !== 'lm_head.weight');
    expect(Object.keys(index.weight_map)).toEqual([...names].sort());
    expect(index.metadata.total_size).toBe(names.reduce((s, k) => s + model.get(k)!.bytes.byteLength, 0));
    expect(index.metadata.total_parameters).toBe(32 + 16 + 4 + 4);
    expect(indexText.endsWith('}\n')).toBe(true);
    for (const shard of written.shards) {
      const f = parseSafetensors(new Uint8Array(fs.readFileSync(path.join(out, shard))), shard);
      expect(f.metadata).toEqual({ format: 'pt' });
      for (const name of f.names) expect(f.info(name).dtype).toBe('BF16');
    }
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({ dtype: 'bfloat16', torch_dtype: 'bfloat16' });

    const folder = await ModelFolder.open(out);
    try {
      expect(folder.modelType).toBe('qwen2');
      expect(folder.nameOrPath).toBe('Qwen/Qwen2.5-0.5B-Instruct');
      expect(folder.dtype).toBe('BF16');
      expect(folder.special).toEqual({ bos: 151643, eos: [151645, 151643], pad: undefined });
      expect(folder.files).toEqual(written.shards);
      expect(folder.tensors.map((t) => t.name).sort()).toEqual([...names].sort());
      expect(folder.has('lm_head.weight')).toBe(false);
      expect(folder.info('model.norm.weight')).toMatchObject({ dtype: 'BF16', shape: [4], file: index.weight_map['model.norm.weight'] });
      for await (const [info, t] of folder.stream()) {
        expect(Array.from(t.bytes)).toEqual(Array.from(model.get(info.name)!.bytes)); // bf16 stays bit-exact
      }
      expect(folder.auxiliaryFiles()).toEqual(['generation_config.json', 'tokenizer.json'].map((name) => ({ name, from: path.join(out, name) })));
      await rejects(folder.read('lm_head.weight'), 'has no tensor "lm_head.weight"');
    } finally {
      await folder.close();
    }
  });

  it('converts float tensors to the requested dtype (round to nearest even) and writes one file without an index', async () => {
    const f32 = new Map<string, StoredTensor>([['w', fromFloat32(new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8, -0.1]), 'F32', [3])]]);
    const out = fresh('conv');
    const w = await writeModelFolder(out, sources(f32), { config: { model_type: 'llama', torch_dtype: 'float32' }, dtype: 'BF16' });
    expect(w.shards).toEqual(['model.safetensors']);
    expect(fs.existsSync(path.join(out, 'model.safetensors.index.json'))).toBe(false);
    const folder = await ModelFolder.open(out);
    const t = await folder.read('w');
    await folder.close();
    expect(t.dtype).toBe('BF16');
    expect(Array.from(toFloat32(t))).toEqual([1, 1 + 2 ** -6, Math.fround(-0.10009765625)]);
    expect(folder.dtype).toBe('BF16');
  });

  it('never replaces a folder holding the user\'s files; replaces a model folder only with overwrite; a failed write changes nothing', async () => {
    const out = fresh('keep');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
    await rejects(writeModelFolder(out, sources(tinyModel()), { config: CONFIG }), 'not empty');
    await rejects(writeModelFolder(out, sources(tinyModel()), { config: CONFIG, overwrite: true }), 'not part of a model folder', 'notes.txt');
    expect(fs.readdirSync(out)).toEqual(['notes.txt']);

    const prev = fresh('prev');
    await writeModelFolder(prev, sources(tinyModel()), { config: CONFIG });
    const before = fs.readFileSync(path.join(prev, 'model.safetensors'));
    const failing = sources(tinyModel());
    failing[2]!.read = async () => {
      throw new UserError('the adapter is broken');
    };
    await rejects(writeModelFolder(prev, failing, { config: CONFIG, overwrite: true }), 'the adapter is broken');
    expect(fs.readFileSync(path.join(prev, 'model.safetensors')).equals(before)).toBe(true);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-') || f.includes('.old-'))).toEqual([]);

    const changed = new Map([...tinyModel()].map(([k, t]) => [k, k === 'model.norm.weight' ? fromFloat32(new Float32Array(4).fill(2), 'BF16', [4]) : t]));
    await writeModelFolder(prev, sources(changed), { config: CONFIG, overwrite: true });
    const folder = await ModelFolder.open(prev);
    expect(Array.from(toFloat32(await folder.read('model.norm.weight')))).toEqual([2, 2, 2, 2]);
    await folder.close();

    const empty = fresh('empty');
    fs.mkdirSync(empty);
    await writeModelFolder(empty, sources(tinyModel()), { config: CONFIG }); // an empty folder is fine
    expect(fs.existsSync(path.join(empty, 'model.safetensors'))).toBe(true);
  });
});

describe('folder validation errors name the file and tensor', () => {
  async function sharded(): Promise<string> {
    const out = fresh('v');
    await writeModelFolder(out, sources(tinyModel()), { config: CONFIG, maxShardSize: 70 });
    return out;
  }
  const indexOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
  const writeIndex = (dir: string, idx: unknown) => fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(idx));

  it('missing folder, config or weights', async () => {
    await rejects(ModelFolder.open(path.join(tmp, 'nowhere')), 'no such model folder');
    const d = fresh('d');
    fs.mkdirSync(d);
    await rejects(ModelFolder.open(d), 'not a Hugging Face model folder (no config.json)');
    fs.writeFileSync(path.join(d, 'config.json'), '{"model_type": "llama"}');
    fs.writeFileSync(path.join(d, 'pytorch_model.bin'), '');
    await rejects(ModelFolder.open(d), 'no model.safetensors', 'pytorch_model.bin is a pickle');
    fs.writeFileSync(path.join(d, 'config.json'), '{"model_type": ');
    await rejects(ModelFolder.open(d), 'config.json: not valid JSON');
  });

  it('a shard missing, a tensor not in its shard, a tensor not in the index, a duplicate, a path outside the folder', async () => {
    let d = await sharded();
    fs.rmSync(path.join(d, 'model-00002-of-00002.safetensors'));
    await rejects(ModelFolder.open(d), 'model.safetensors.index.json', 'shard model-00002-of-00002.safetensors is missing');

    d = await sharded();
    let idx = indexOf(d);
    idx.weight_map['model.extra.weight'] = 'model-00001-of-00002.safetensors';
    writeIndex(d, idx);
    await rejects(ModelFolder.open(d), 'tensor "model.extra.weight" is not in its shard model-00001-of-00002.safetensors');

    d = await sharded();
    idx = indexOf(d);
    delete idx.weight_map['model.norm.weight'];
    writeIndex(d, idx);
    await rejects(ModelFolder.open(d), 'tensor "model.norm.weight" is not in model.safetensors.index.json');

    d = await sharded();
    idx = indexOf(d);
    idx.weight_map['model.norm.weight'] = 'model-00001-of-00002.safetensors'; // it is in shard 2
    writeIndex(d, idx);
    await rejects(ModelFolder.open(d), 'model-00002-of-00002.safetensors: tensor "model.norm.weight" is listed in model.safetensors.index.json under model-00001-of-00002.safetensors');

    d = await sharded();
    const first = parseSafetensors(new Uint8Array(fs.readFileSync(path.join(d, 'model-00001-of-00002.safetensors'))));
    const dupName = first.names[0]!;
    const second = path.join(d, 'model-00002-of-00002.safetensors');
    const s2 = parseSafetensors(new Uint8Array(fs.readFileSync(second)));
    const tensors = Object.fromEntries([...s2.names, dupName].map((k) => [k, { shape: [1], data: new Float32Array(1) }]));
    fs.writeFileSync(second, serializeSafetensors(tensors));
    await rejects(ModelFolder.open(d), `tensor "${dupName}" is in both model-00001-of-00002.safetensors and model-00002-of-00002.safetensors`);

    d = await sharded();
    idx = indexOf(d);
    idx.weight_map['model.norm.weight'] = '../../etc/passwd';
    writeIndex(d, idx);
    await rejects(ModelFolder.open(d), 'weight_map["model.norm.weight"] = "../../etc/passwd" is not a file name in the model folder');

    d = await sharded();
    fs.writeFileSync(path.join(d, 'model.safetensors'), '');
    await rejects(ModelFolder.open(d), 'holds both model.safetensors and model.safetensors.index.json');
  });

  it('a corrupt shard names the shard', async () => {
    const d = await sharded();
    const shard = path.join(d, 'model-00001-of-00002.safetensors');
    fs.truncateSync(shard, fs.statSync(shard).size - 2);
    await rejects(ModelFolder.open(d), 'model-00001-of-00002.safetensors: not a valid safetensors file');
  });
});

describe('tokenizer files', () => {
  it('chat_template.jinja wins over tokenizer_config.json; a template list gives its default; eos from generation_config first', () => {
    const d = fresh('tok');
    fs.mkdirSync(d);
    expect(() => readTokenizerFiles(d)).toThrow(/no tokenizer.json/);
    fs.writeFileSync(path.join(d, 'tokenizer.json'), '{"model": {"type": "BPE"}}');
    fs.writeFileSync(path.join(d, 'tokenizer_config.json'), JSON.stringify({ chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }] }));
    fs.writeFileSync(path.join(d, 'config.json'), '{"eos_token_id": 5, "bos_token_id": 1}');
    let files = readTokenizerFiles(d);
    expect(files.chatTemplate).toBe('D');
    expect(files.special).toEqual({ bos: 1, eos: [5], pad: undefined });
    fs.writeFileSync(path.join(d, 'chat_template.jinja'), 'J');
    fs.writeFileSync(path.join(d, 'generation_config.json'), '{"eos_token_id": [7, 5]}');
    files = readTokenizerFiles(d);
    expect(files.chatTemplate).toBe('J');
    expect(files.special).toEqual({ bos: 1, eos: [7, 5], pad: undefined });
    expect(files.tokenizerJson).toEqual({ model: { type: 'BPE' } });
  });
});
