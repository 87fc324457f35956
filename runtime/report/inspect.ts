// What `rankfold inspect` prints: the tensors of a safetensors file (name, dtype, shape, size), or a
// PEFT adapter folder's config and adapted modules followed by its tensors.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../compiler/errors.ts';
import { isAdapterDir, readAdapterDir, readSafetensorsFile } from '../io/node-fs.ts';
import { ADAPTER_WEIGHTS_NAME, loraScaling, resolveRankAlpha, type Adapter } from '../io/peft.ts';
import { numel, type SafetensorsFile } from '../io/safetensors.ts';

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Left-aligned text columns, right-aligned numeric ones. */
function table(header: string[], rows: string[][], numeric: boolean[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const fmt = (r: string[]) => r.map((v, c) => (numeric[c] ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

/** A table of a safetensors file's tensors, their totals and its metadata. */
export function describeSafetensors(st: SafetensorsFile): string {
  const rows = st.names.map((n) => {
    const i = st.info(n);
    return [n, i.dtype, `[${i.shape.join(', ')}]`, numel(i.shape).toLocaleString('en-US'), humanBytes(i.byteLength)];
  });
  const elements = st.names.reduce((s, n) => s + numel(st.info(n).shape), 0);
  const bytes = st.names.reduce((s, n) => s + st.info(n).byteLength, 0);
  const lines = [table(['tensor', 'dtype', 'shape', 'elements', 'bytes'], rows, [false, false, false, true, true])];
  lines.push(`\n${st.names.length} tensors, ${elements.toLocaleString('en-US')} elements, ${humanBytes(bytes)}`);
  const meta = Object.entries(st.metadata);
  if (meta.length) lines.push(`metadata: ${meta.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  return lines.join('\n');
}

/** A PEFT adapter's config (ranks, scalings, targets) and a table of its adapted modules. */
export function describeAdapter(ad: Adapter): string {
  const c = ad.config;
  const target = c.target_modules === null ? '(none)' : typeof c.target_modules === 'string' ? `regex ${JSON.stringify(c.target_modules)}` : c.target_modules.join(', ');
  const lines = [
    `PEFT LoRA adapter (peft_version ${String(c.peft_version ?? '?')}, task ${c.task_type ?? 'none'})`,
    `  base model:     ${c.base_model_name_or_path ?? '(not recorded)'}`,
    `  target modules: ${target}`,
    `  r ${c.r}, lora_alpha ${c.lora_alpha}, scaling ${loraScaling(c.lora_alpha, c.r, c.use_rslora).toPrecision(4)}${c.use_rslora ? ' (rsLoRA)' : ''}, dropout ${c.lora_dropout}`,
    `  bias ${c.bias}, fan_in_fan_out ${c.fan_in_fan_out}, DoRA ${c.use_dora}, init_lora_weights ${JSON.stringify(c.init_lora_weights)}`,
  ];
  if (Object.keys(c.rank_pattern).length) lines.push(`  rank_pattern:  ${JSON.stringify(c.rank_pattern)}`);
  if (Object.keys(c.alpha_pattern).length) lines.push(`  alpha_pattern: ${JSON.stringify(c.alpha_pattern)}`);
  if (c.layers_to_transform !== null) lines.push(`  layers_to_transform: ${JSON.stringify(c.layers_to_transform)}`);
  if (c.modules_to_save) lines.push(`  modules_to_save: ${c.modules_to_save.join(', ')}`);
  const rows = [...ad.tensors].map(([name, w]) => {
    const { r, alpha } = resolveRankAlpha(name, c);
    const params = w.A.data.length + w.B.data.length + (w.magnitude?.data.length ?? 0) + (w.biasB?.data.length ?? 0);
    return [name, String(r), String(w.A.shape[1]), String(w.B.shape[0]), loraScaling(alpha, r, c.use_rslora).toPrecision(4), params.toLocaleString('en-US')];
  });
  lines.push('', table(['module', 'r', 'in', 'out', 'scaling', 'params'], rows, [false, true, true, true, true, true]));
  if (ad.others.size) lines.push(`\nother tensors: ${[...ad.others.keys()].join(', ')}`);
  return lines.join('\n');
}

/**
 * Describes `target`: an adapter folder (one holding adapter_config.json) as its config, modules and
 * tensors; any other path as a safetensors file's tensors.
 */
export function describePath(target: string): string {
  if (!fs.existsSync(target)) throw new UserError(`${target}: no such file or directory`);
  if (!fs.statSync(target).isDirectory()) return describeSafetensors(readSafetensorsFile(target));
  if (!isAdapterDir(target)) throw new UserError(`${target}: a directory without adapter_config.json is not an adapter`);
  const adapter = readAdapterDir(target);
  return `${describeAdapter(adapter)}\n\n${describeSafetensors(readSafetensorsFile(path.join(target, ADAPTER_WEIGHTS_NAME)))}`;
}
