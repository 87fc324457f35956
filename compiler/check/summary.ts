// The human-readable summary `rankfold check` prints for a model that checks cleanly.
import type { CheckedModel, Op, RopeConfig } from './model.ts';

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}
function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}
function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6)));
}

function ropeText(r: RopeConfig): string {
  const extra = Object.entries(r)
    .filter(([k]) => k !== 'type' && k !== 'theta' && k !== 'dim')
    .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.length} values]` : typeof v === 'number' ? fmt(v) : String(v)}`);
  return [`${r.type} theta=${fmt(r.theta)} dim=${r.dim}`, ...extra].join(' ');
}

/** Layer indices as ranges: 0-3, 7, 9-11. */
function ranges(xs: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    out.push(i === j ? String(xs[i]) : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

/** RoPE and sliding windows by attention layer (what the config made of them). */
function attentionLines(ops: Op[]): string[] {
  const layers = ops.filter((o): o is Extract<Op, { op: 'attention' }> => o.op === 'attention');
  if (layers.length === 0) return [];
  const group = (key: (o: (typeof layers)[number]) => string | undefined) => {
    const byKey = new Map<string, number[]>();
    layers.forEach((o, i) => {
      const k = key(o);
      if (k !== undefined) byKey.set(k, [...(byKey.get(k) ?? []), i]);
    });
    return [...byKey].map(([k, idx]) => `${k} (${idx.length === layers.length ? `all ${layers.length} layers` : `layers ${ranges(idx)}`})`);
  };
  return [
    `attention: ${layers.length} layers`,
    ...group((o) => (o.rope ? ropeText(o.rope) : undefined)).map((t) => `  rope: ${t}`),
    ...group((o) => (o.window !== null ? String(o.window) : undefined)).map((t) => `  sliding window: ${t}`),
  ];
}

export function formatSummary(m: CheckedModel): string {
  const lines: string[] = [];
  const linears = m.ops.filter((o) => o.op === 'linear').length;
  lines.push(`${m.file}: ok: model ${m.name} (${m.ops.length} ops, ${linears} linear layers, ${m.weights.filter((w) => w.role !== 'adapter').length} weight tensors)`);
  lines.push(`parameters: ${Object.entries(m.params).map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : v}`).join(' ')}`);
  const c = m.counts;
  const w = String(c.total).length;
  lines.push('weights:');
  lines.push(`  base       ${lpad(String(c.base), w)}`);
  lines.push(`  lora       ${lpad(String(c.adapter), w)}`);
  lines.push(`  total      ${lpad(String(c.total), w)}`);
  lines.push(`  trainable  ${lpad(String(c.trainable), w)}  (${c.total ? ((100 * c.trainable) / c.total).toFixed(4) : '0'}%)`);
  lines.push(`  frozen     ${lpad(String(c.frozen), w)}`);
  const tied = m.weights.filter((x) => x.tiedTo);
  for (const t of tied) lines.push(`  tied: ${t.name} = ${t.tiedTo} (counted once)`);
  lines.push(...attentionLines(m.ops));
  if (m.lora.length === 0) lines.push('LoRA targets: none');
  else {
    lines.push(`LoRA targets: ${m.lora.length}`);
    const mw = Math.max(6, ...m.lora.map((t) => t.module.length));
    lines.push(`  ${pad('module', mw)}  ${lpad('in', 6)}  ${lpad('out', 6)}  ${lpad('rank', 4)}  ${lpad('alpha', 6)}  ${lpad('scaling', 8)}  extra`);
    for (const t of m.lora) {
      const k = t.config;
      const extra = [t.kind === 'embedding' ? 'embedding' : '', k.dropout ? `dropout=${fmt(k.dropout)}` : '', k.init !== 'default' ? `init=${k.init}` : '', k.rslora ? 'rslora' : '', k.dora ? 'dora' : '', k.loraBias ? 'lora_bias' : ''].filter(Boolean).join(' ');
      lines.push(`  ${pad(t.module, mw)}  ${lpad(String(t.inFeatures), 6)}  ${lpad(String(t.outFeatures), 6)}  ${lpad(String(k.rank), 4)}  ${lpad(fmt(k.alpha), 6)}  ${lpad(fmt(k.scaling), 8)}  ${extra}`.trimEnd());
    }
  }
  const opts = m.adapterOptions;
  if (opts && (opts.bias !== 'none' || opts.modulesToSave.length > 0)) {
    lines.push(`trained in full with the adapters: ${[opts.modulesToSave.length ? `modules ${opts.modulesToSave.join(', ')}` : '', opts.bias !== 'none' ? `biases (bias="${opts.bias}")` : ''].filter(Boolean).join(', ')}`);
  }
  if (m.train) {
    const t = m.train;
    const parts: string[] = [];
    if (t.optimizer) parts.push(`optimizer=${t.optimizer.name}(lr=${t.optimizer.lr}, weight_decay=${t.optimizer.weightDecay})`);
    if (t.schedule) parts.push(`schedule=${t.schedule.name}(warmup=${t.schedule.warmup})`);
    for (const k of ['batch', 'seq', 'steps', 'gradAccum', 'seed', 'maxGradNorm', 'data', 'out'] as const) if (t[k] !== undefined) parts.push(`${k}=${typeof t[k] === 'string' ? JSON.stringify(t[k]) : t[k]}`);
    lines.push(`train: ${parts.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}
