// The Node-only side of runtime/io: reading files and directories into the pure parsers, and
// writing through atomic.ts. A browser build supplies bytes from fetch() or File objects instead.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../compiler/errors.ts';
import { parseSafetensors, serializeSafetensors, type SafetensorsFile, type TensorInput } from './safetensors.ts';
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, readAdapter, writeAdapter, type Adapter } from './peft.ts';
import { makeDir, requireSettled, writeDirAtomic, writeFileAtomic } from './atomic.ts';
import { ioError } from './fs-errors.ts';
import { OPTIMIZER_NAME, TRAINER_STATE_NAME, parseCheckpoint, serializeCheckpoint, type Checkpoint } from './checkpoint.ts';

/**
 * Makes sure `dir` is a folder that can be written to (creating it and its parents), so a run
 * refuses a bad --out before it starts its work rather than crashing after it. Runs that write
 * their results there hold the folder through OutputDir (output-dir.ts) instead.
 */
export function ensureOutputDir(dir: string): void {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: not a folder (--out names a folder)`);
  makeDir(dir);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    ioError(err, dir, 'write');
  }
}

/** Reads a whole file, turning "no such file" and friends into a UserError naming the path. */
export function readFileBytes(file: string): Uint8Array {
  try {
    const buf = fs.readFileSync(file);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    return ioError(err, file, 'read');
  }
}

export function readTextFile(file: string): string {
  return new TextDecoder().decode(readFileBytes(file));
}

export function readSafetensorsFile(file: string): SafetensorsFile {
  return parseSafetensors(readFileBytes(file), file);
}

export function writeSafetensorsFile(
  file: string,
  tensors: Map<string, TensorInput> | Record<string, TensorInput>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(file, serializeSafetensors(tensors, metadata));
}

export function isAdapterDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, ADAPTER_CONFIG_NAME));
}

/** Reads a PEFT adapter directory (adapter_config.json + adapter_model.safetensors). */
export function readAdapterDir(dir: string): Adapter {
  // A reader changes nothing on disk; a write interrupted mid-way is the next writer's to finish.
  requireSettled(dir);
  if (!fs.existsSync(dir)) throw new UserError(`${dir}: no such adapter directory`);
  if (!fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: a file; an adapter is a folder (${ADAPTER_CONFIG_NAME} + ${ADAPTER_WEIGHTS_NAME})`);
  const cfg = path.join(dir, ADAPTER_CONFIG_NAME);
  const weights = path.join(dir, ADAPTER_WEIGHTS_NAME);
  if (!fs.existsSync(cfg)) throw new UserError(`${dir}: not a PEFT adapter directory (no ${ADAPTER_CONFIG_NAME})`);
  if (!fs.existsSync(weights)) {
    const hint = fs.existsSync(path.join(dir, 'adapter_model.bin')) ? ' (adapter_model.bin is a pickle; Rankfold reads safetensors only)' : '';
    throw new UserError(`${dir}: no ${ADAPTER_WEIGHTS_NAME}${hint}`);
  }
  return readAdapter({ config: readTextFile(cfg), weights: readFileBytes(weights) }, dir);
}

/**
 * Writes an adapter directory atomically. `extra` adds files to the same directory (a training
 * checkpoint's optimizer.safetensors and trainer_state.json), so the set is replaced as a whole.
 */
export function writeAdapterDir(dir: string, adapter: Adapter, extra: Record<string, Uint8Array | string> = {}): void {
  const files = writeAdapter(adapter);
  writeDirAtomic(dir, { [ADAPTER_CONFIG_NAME]: files.config, [ADAPTER_WEIGHTS_NAME]: files.weights, ...extra });
}

/** Writes a training checkpoint directory atomically (adapter + optimizer moments + trainer state). */
export function writeCheckpointDir(dir: string, ck: Checkpoint): void {
  writeDirAtomic(dir, serializeCheckpoint(ck));
}

export function readCheckpointDir(dir: string): Checkpoint {
  requireSettled(dir);
  const need = [ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, OPTIMIZER_NAME, TRAINER_STATE_NAME];
  const missing = need.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length) throw new UserError(`${dir}: not a Rankfold checkpoint (missing ${missing.join(', ')})`);
  return parseCheckpoint(
    {
      config: readTextFile(path.join(dir, ADAPTER_CONFIG_NAME)),
      weights: readFileBytes(path.join(dir, ADAPTER_WEIGHTS_NAME)),
      optimizer: readFileBytes(path.join(dir, OPTIMIZER_NAME)),
      state: readTextFile(path.join(dir, TRAINER_STATE_NAME)),
    },
    dir,
  );
}
