// Writes a Hugging Face model folder that transformers' from_pretrained loads unchanged (Node):
// config.json, the weights sharded as save_pretrained shards them (hf-shards.ts), and the tokenizer
// and generation files copied over. Streamed: each tensor is produced by its read(), converted to the
// output dtype, written and dropped, so the model is never whole in memory. Atomic as a folder: it
// is built in a temporary sibling and renamed into place only when complete (commitFolder below).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../../compiler/errors.ts';
import { DTYPE_SIZES, convertFloat, isFloatDtype, numel, type Dtype, type FloatDtype, type StoredTensor } from './dtypes.ts';
import { CONFIG_NAME, WEIGHTS_INDEX_NAME, isPlainFileName, parseJsonObject, type JsonObject } from './hf-config.ts';
import { DEFAULT_MAX_SHARD_SIZE, SHARD_FILE_PATTERN, configWithDtype, parseSize, planShards, shardIndexJson, tiedWeightsToOmit } from './hf-shards.ts';
import { AUXILIARY_FILES } from './model-folder.ts';
import { SafetensorsFileWriter, fileError } from './safetensors-node.ts';

/** A tensor to write: what read() will return (dtype and shape), and read() itself, called once. */
export interface TensorSource {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
  read(): Promise<StoredTensor>;
}

/** A file written beside the weights: copied from `from`, or given as `data`. */
export interface ExtraFile {
  name: string;
  from?: string;
  data?: string | Uint8Array;
}

export interface WriteModelFolderOptions {
  /** config.json: its text (kept as is but for the dtype fields) or an object. */
  config: string | JsonObject;
  /** Float tensors are written in this dtype (rounded to nearest even); by default each keeps its own. */
  dtype?: FloatDtype;
  /** Bytes or a size such as "5GB" (the default, as transformers 4.x). */
  maxShardSize?: number | string;
  /** Tokenizer files, generation_config.json, ...: copied into the folder. */
  files?: ExtraFile[];
  /** Leave these tensors out; by default the tied output head (see tiedWeightsToOmit). */
  omit?: string[];
  /** Replace an existing non-empty folder (only if it holds nothing but model-folder files). */
  overwrite?: boolean;
}

export interface WrittenFolder {
  dir: string;
  /** Weight files written, in order. */
  shards: string[];
  totalSize: number;
  omitted: string[];
}

/** Names a model folder consists of: anything else in an existing output folder is the user's. */
function isModelFolderFile(name: string): boolean {
  return (
    name === CONFIG_NAME ||
    name === WEIGHTS_INDEX_NAME ||
    name === 'model.safetensors' ||
    SHARD_FILE_PATTERN.test(name) ||
    (AUXILIARY_FILES as readonly string[]).includes(name)
  );
}

/** Refuses an output folder whose replacement would lose files that are not part of a model folder. */
function checkTarget(dir: string, overwrite: boolean): void {
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: exists and is not a folder`);
  const entries = fs.readdirSync(dir);
  if (entries.length === 0) return;
  if (!overwrite) throw new UserError(`${dir}: folder exists and is not empty (choose a new folder, or overwrite it)`);
  const foreign = entries.filter((e) => !isModelFolderFile(e));
  if (foreign.length > 0) {
    throw new UserError(`${dir}: will not overwrite: it holds files that are not part of a model folder (${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', ...' : ''})`);
  }
}

async function writeSynced(file: string, data: string | Uint8Array): Promise<void> {
  const fh = await fs.promises.open(file, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function copySynced(from: string, to: string): Promise<void> {
  await fs.promises.copyFile(from, to);
  const fh = await fs.promises.open(to, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes the folder. Tensors are written in the order given (the order save_pretrained would use is
 * the model's parameter order), packed into shards of at most maxShardSize.
 */
export async function writeModelFolder(dir: string, tensors: readonly TensorSource[], opts: WriteModelFolderOptions): Promise<WrittenFolder> {
  const target = path.resolve(dir);
  checkTarget(target, opts.overwrite ?? false);
  const maxBytes = parseSize(opts.maxShardSize ?? DEFAULT_MAX_SHARD_SIZE);
  const configText = typeof opts.config === 'string' ? opts.config : JSON.stringify(opts.config, null, 2) + '\n';
  const config = parseJsonObject(configText, CONFIG_NAME);
  const names = tensors.map((t) => t.name);
  const omitted = opts.omit ?? tiedWeightsToOmit(config, names);
  const kept = tensors.filter((t) => !omitted.includes(t.name));
  const outDtype = (t: TensorSource): Dtype => (opts.dtype && isFloatDtype(t.dtype) ? opts.dtype : t.dtype);
  const seen = new Set<string>();
  for (const t of kept) {
    if (seen.has(t.name)) throw new UserError(`tensor "${t.name}" is given twice`);
    seen.add(t.name);
  }
  for (const f of opts.files ?? []) {
    if (!isPlainFileName(f.name) || f.name === CONFIG_NAME || f.name === WEIGHTS_INDEX_NAME || f.name.endsWith('.safetensors')) {
      throw new UserError(`"${f.name}" cannot be written beside the weights (config.json and the weights are written by the writer itself)`);
    }
  }

  const plan = planShards(kept.map((t) => ({ name: t.name, bytes: numel(t.shape) * DTYPE_SIZES[outDtype(t)] })), maxBytes);
  const byName = new Map(kept.map((t) => [t.name, t]));
  // The dtype config.json declares: the one given, else the common dtype of the float tensors.
  const floatDtypes = new Set(kept.map(outDtype).filter(isFloatDtype));
  const declared = opts.dtype ?? (floatDtypes.size === 1 ? [...floatDtypes][0] : undefined);

  const tmp = path.join(path.dirname(target), `${path.basename(target)}.tmp-${randomBytes(4).toString('hex')}`);
  let totalSize = 0;
  let totalParameters = 0;
  try {
    await fs.promises.mkdir(tmp, { recursive: true });
    const weightMap = new Map<string, string>();
    for (const shard of plan) {
      const entries = shard.names.map((n) => ({ name: n, dtype: outDtype(byName.get(n)!), shape: byName.get(n)!.shape }));
      const w = await SafetensorsFileWriter.create(path.join(tmp, shard.file), entries, { format: 'pt' });
      try {
        for (const e of entries) {
          const src = byName.get(e.name)!;
          const t = await src.read();
          if (t.dtype !== src.dtype || t.shape.join() !== src.shape.join()) {
            throw new Error(`tensor "${e.name}": read() gave ${t.dtype}${JSON.stringify(t.shape)}, declared ${src.dtype}${JSON.stringify(src.shape)}`);
          }
          const out = isFloatDtype(e.dtype) && e.dtype !== t.dtype ? convertFloat(t, e.dtype, `tensor "${e.name}"`) : t;
          await w.write(e.name, out);
          weightMap.set(e.name, shard.file);
          totalSize += out.bytes.byteLength;
          totalParameters += numel(out.shape);
        }
        await w.finish();
      } catch (err) {
        await w.abort();
        throw err;
      }
    }
    if (plan.length > 1) await writeSynced(path.join(tmp, WEIGHTS_INDEX_NAME), shardIndexJson(weightMap, totalSize, totalParameters));
    await writeSynced(path.join(tmp, CONFIG_NAME), declared ? configWithDtype(configText, declared, CONFIG_NAME) : configText);
    for (const f of opts.files ?? []) {
      const to = path.join(tmp, f.name);
      if (f.from !== undefined) await copySynced(f.from, to).catch((err) => fileError(err, f.from!));
      else await writeSynced(to, f.data ?? '');
    }
    await commitFolder(tmp, target, opts.overwrite ?? false);
  } catch (err) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    if (err instanceof UserError || !(err as NodeJS.ErrnoException)?.code) throw err;
    fileError(err, dir);
  }
  return { dir: target, shards: plan.map((s) => s.file), totalSize, omitted };
}

/**
 * Puts the completed folder `tmp` in place of `target`. A new or empty target is one rename, atomic.
 * An existing model folder (only with overwrite, and checked again here) is moved aside to
 * `<target>.old-XXXX`, the new one renamed in, and the old one deleted; were the process killed
 * between the two renames, the previous folder is still there under the .old name. This is the one
 * place the writer touches the output folder; the shared helpers of atomic.ts do not stream yet.
 */
async function commitFolder(tmp: string, target: string, overwrite: boolean): Promise<void> {
  checkTarget(target, overwrite);
  const syncParent = async () => {
    const fh = await fs.promises.open(path.dirname(target), 'r').catch(() => undefined);
    await fh?.sync().catch(() => {});
    await fh?.close();
  };
  if (fs.existsSync(target) && fs.readdirSync(target).length === 0) await fs.promises.rmdir(target);
  if (!fs.existsSync(target)) {
    await fs.promises.rename(tmp, target);
    await syncParent();
    return;
  }
  const old = `${target}.old-${randomBytes(4).toString('hex')}`;
  await fs.promises.rename(target, old);
  try {
    await fs.promises.rename(tmp, target);
  } catch (err) {
    await fs.promises.rename(old, target);
    throw err;
  }
  await syncParent();
  await fs.promises.rm(old, { recursive: true, force: true });
}
