// The playground's pieces that need no browser: the engine seam (spec check, shipped base model,
// adapter files), the editor's underline markup and the File-backed byte source.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BASE_ASSET, SPEC_FILE, baseFromBytes, checkText, compiledView, parseSafetensors, trainRows, trainShape, DEFAULT_SETTINGS } from '../../../apps/playground/src/engine.ts';
import { markedHtml } from '../../../apps/playground/src/editor.ts';
import { FileByteSource, folderFiles, pickedFolder } from '../../../apps/playground/src/file-source.ts';
import { folderWeights, modelForConfig, openFolder } from '../../../apps/playground/src/engine.ts';
import { readSafetensorsFile } from '../../../runtime/io/node-fs.ts';
import { readBaseWeights } from '../../../runtime/model/weights.ts';
import { checkSpec, formatDiagnostics } from '../../../compiler/check/index.ts';
import { compile } from '../../../compiler/compile.ts';
import { formatPlanBytes } from '../../../compiler/plan/memory-plan.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const SPEC = fs.readFileSync(path.join(ROOT, 'dsl-examples', 'char-gpt.rf'), 'utf8');

describe('playground engine', () => {
  it('ships a base model that fits dsl-examples/char-gpt.rf, under 1 MB', () => {
    const file = path.join(ROOT, 'apps', 'playground', 'public', BASE_ASSET);
    const bytes = new Uint8Array(fs.readFileSync(file));
    expect(bytes.byteLength).toBeLessThan(1 << 20);
    const model = checkText(SPEC).model!;
    const base = baseFromBytes(model, bytes);
    expect(base.size).toBe(model.weights.filter((w) => w.role !== 'adapter' && !w.tiedTo).length);
    expect(parseSafetensors(bytes).metadata['rankfold']).toMatch(/make-base\.ts: 300 steps, seed 0/);
  });

  it('prints diagnostics exactly as the CLI does, and the plan as compile --emit plan', () => {
    const bad = SPEC.replace('heads = heads', 'heads = haeds');
    const page = checkText(bad);
    const cli = checkSpec(bad, SPEC_FILE);
    expect(page.model).toBeUndefined();
    expect(page.formatted).toBe(formatDiagnostics(cli.diagnostics, cli.source));
    expect(page.formatted).toMatch(/^char-gpt\.rf:\d+:\d+: error\[E0301\]: unknown name 'haeds'/);
    const model = checkText(SPEC).model!;
    const { batch, seq } = trainShape(model);
    // What `rankfold compile --emit plan --batch 16 --seq 32` prints.
    expect(compiledView(model, 'train', batch, seq).plan).toBe(formatPlanBytes(compile(model, { mode: 'train', batch, seq, stopAfter: 'plan' }).plan));
  });

  it('generates the same training rows for the same seed', () => {
    const a = trainRows(DEFAULT_SETTINGS);
    expect(trainRows(DEFAULT_SETTINGS).ids).toEqual(a.ids);
    expect(trainRows({ ...DEFAULT_SETTINGS, seed: 1 }).ids).not.toEqual(a.ids);
  });
});

describe('editor underlines', () => {
  const d = (line: number, col: number, endCol?: number) => ({ code: 'E0301', message: 'x', file: 'f', line, col, ...(endCol ? { endCol } : {}) });
  it('marks each diagnostic span, escaping the text around it', () => {
    expect(markedHtml('a <b>\nfoo bar', [d(2, 5, 8)])).toBe('a &lt;b&gt;\nfoo <mark title="error">bar</mark>\n');
    // Without an end column the rest of the word is marked; overlapping spans are merged.
    expect(markedHtml('xx yyyy z', [d(1, 4), d(1, 5, 6)])).toBe('xx <mark title="error">yyyy</mark> z\n');
    // A span at the end of a line marks a visible space.
    expect(markedHtml('ab\ncd', [d(1, 3)])).toBe('ab<mark title="error"> </mark>\ncd\n');
  });
});

describe('files picked in a page', () => {
  it('reads byte ranges of a File and refuses reads past its end', async () => {
    const src = new FileByteSource(new Blob([new Uint8Array([0, 1, 2, 3, 4, 5])]), 'x.bin');
    expect(src.size).toBe(6);
    expect([...(await src.read(2, 3))]).toEqual([2, 3, 4]);
    await expect(src.read(4, 3)).rejects.toThrow(/x\.bin: 3 bytes at 4 run past the end/);
  });

  const picked = (bytes: Uint8Array<ArrayBuffer> | string, name: string, rel: string) => Object.assign(new File([bytes], name), { webkitRelativePath: rel }) as File;

  it('names a folder\'s files by their path inside it', () => {
    const files = folderFiles([picked('{}', 'config.json', 'model/config.json'), picked('{}', 'adapter_config.json', 'model/adapter/adapter_config.json')]);
    expect([...files.keys()]).toEqual(['config.json', 'adapter/adapter_config.json']);
  });

  it('opens a picked Hugging Face folder through the runtime\'s HfFolder and streams its weights', async () => {
    const dir = path.join(ROOT, 'test', 'fixtures', 'conformance', 'llama_qv_r4');
    const read = (f: string) => new Uint8Array(fs.readFileSync(path.join(dir, f))) as Uint8Array<ArrayBuffer>;
    const folder = await openFolder(pickedFolder([picked(read('config.json'), 'config.json', 'llama_qv_r4/config.json'), picked(read('model.safetensors'), 'model.safetensors', 'llama_qv_r4/model.safetensors')]));
    try {
      expect(folder.dir).toBe('llama_qv_r4');
      const model = modelForConfig(fs.readFileSync(path.join(ROOT, 'dsl-examples', 'llama.rf'), 'utf8'), 'llama.rf', folder.config);
      const weights = await folderWeights(model, folder);
      expect(weights).toEqual(readBaseWeights(model, readSafetensorsFile(path.join(dir, 'model.safetensors'))));
    } finally {
      await folder.close();
    }
    await expect(openFolder(pickedFolder([picked('{}', 'notes.txt', 'x/notes.txt')]))).rejects.toThrow('x: not a Hugging Face model folder (no config.json)');
  });
});
