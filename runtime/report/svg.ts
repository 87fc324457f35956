// Dependency-free SVG charts: line plots for loss curves and a heatmap for subspace-similarity
// matrices. They return SVG text; writing it to disk is the caller's business.

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round numbers: "nice" ticks covering [min, max], steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  // Integer multiples of the step, rounded, so 3 * 0.2 prints as 0.6 and not 0.6000000000000001.
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)) || 0);
  return ticks;
}

/** A tick label without float noise (0.30000000000000004 -> 0.3), compact for big and small values. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(6)));
}

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
}

export interface LinePlotOptions {
  series: Series[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Log-scale y axis (values <= 0 are skipped). */
  logY?: boolean;
  /** Longer series are thinned to about this many points (every k-th, keeping the last). */
  maxPoints?: number;
}

/** Loss curves: one polyline per series, axes with ticks and labels, a legend. Non-finite points break the line. */
export function linePlotSvg(opts: LinePlotOptions): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 400;
  const m = { left: 64, right: 20, top: opts.title ? 36 : 16, bottom: 48 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const ty = (v: number) => (opts.logY ? Math.log10(v) : v);
  const ok = (x: number, y: number) => Number.isFinite(x) && Number.isFinite(y) && (!opts.logY || y > 0);

  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of opts.series) {
    for (let i = 0; i < Math.min(s.x.length, s.y.length); i++) {
      const x = s.x[i]!, y = s.y[i]!;
      if (!ok(x, y)) continue;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, ty(y)); y1 = Math.max(y1, ty(y));
    }
  }
  const empty = !Number.isFinite(x0);
  if (empty) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
  const xt = niceTicks(x0, x1, 6);
  const yt = opts.logY ? logTicks(y0, y1) : niceTicks(y0, y1, 5);
  const xmin = Math.min(x0, xt[0] ?? x0), xmax = Math.max(x1, xt[xt.length - 1] ?? x1);
  const ymin = Math.min(y0, yt[0] ?? y0), ymax = Math.max(y1, yt[yt.length - 1] ?? y1);
  const sx = (x: number) => m.left + (xmax === xmin ? pw / 2 : ((x - xmin) / (xmax - xmin)) * pw);
  const sy = (y: number) => m.top + ph - (ymax === ymin ? ph / 2 : ((y - ymin) / (ymax - ymin)) * ph);
  const f = (n: number) => n.toFixed(1);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  if (opts.title) out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(opts.title)}</text>`);
  for (const t of xt) {
    out.push(`<line x1="${f(sx(t))}" y1="${m.top}" x2="${f(sx(t))}" y2="${m.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${f(sx(t))}" y="${m.top + ph + 16}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  for (const t of yt) {
    out.push(`<line x1="${m.left}" y1="${f(sy(t))}" x2="${m.left + pw}" y2="${f(sy(t))}" stroke="#eee"/>`);
    out.push(`<text x="${m.left - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${formatTick(opts.logY ? 10 ** t : t)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  if (opts.xLabel) out.push(`<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle">${escapeXml(opts.xLabel)}</text>`);
  if (opts.yLabel) out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(opts.yLabel)}</text>`);
  if (empty) out.push(`<text x="${m.left + pw / 2}" y="${m.top + ph / 2}" text-anchor="middle" fill="#888">no data</text>`);

  const maxPoints = opts.maxPoints ?? 2000;
  opts.series.forEach((s, si) => {
    const color = s.color ?? PALETTE[si % PALETTE.length]!;
    const n = Math.min(s.x.length, s.y.length);
    const stride = Math.max(1, Math.ceil(n / maxPoints));
    const runs: string[] = [];
    let cur: string[] = [];
    for (let i = 0; i < n; i += stride) {
      const j = i + stride >= n ? n - 1 : i; // always end on the last point
      const x = s.x[j]!, y = s.y[j]!;
      if (!ok(x, y)) {
        if (cur.length) runs.push(cur.join(' '));
        cur = [];
        continue;
      }
      cur.push(`${f(sx(x))},${f(sy(ty(y)))}`);
      if (j === n - 1) break;
    }
    if (cur.length) runs.push(cur.join(' '));
    for (const r of runs) {
      out.push(r.includes(' ')
        ? `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${r}"/>`
        : `<circle cx="${r.split(',')[0]}" cy="${r.split(',')[1]}" r="2" fill="${color}"/>`);
    }
    const ly = m.top + 14 + si * 16;
    out.push(`<line x1="${m.left + pw - 120}" y1="${ly - 4}" x2="${m.left + pw - 100}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${m.left + pw - 94}" y="${ly}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) ticks.push(e);
  return ticks.length >= 2 ? ticks : niceTicks(lo, hi, 4);
}

// Viridis, sampled at 5 stops and interpolated linearly: perceptually even and colour-blind safe.
const VIRIDIS: [number, number, number][] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

export function viridis(t: number): string {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const a = VIRIDIS[i]!, b = VIRIDIS[i + 1]!, w = u - i;
  const c = (k: number) => Math.round(a[k]! + (b[k]! - a[k]!) * w);
  return `rgb(${c(0)},${c(1)},${c(2)})`;
}

export interface HeatmapOptions {
  /** Row-major [rows, cols] values. */
  values: ArrayLike<number>;
  rows: number;
  cols: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  rowLabels?: string[];
  colLabels?: string[];
  /** Colour scale limits; default the data's min and max (a similarity matrix wants 0 and 1). */
  min?: number;
  max?: number;
  cellSize?: number;
  /** Write each value in its cell; default when the matrix has at most 144 cells. */
  annotate?: boolean;
}

/** A heatmap with a colour bar, e.g. the subspace similarity between two adapters' LoRA factors. */
export function heatmapSvg(opts: HeatmapOptions): string {
  const { rows, cols, values } = opts;
  if (values.length !== rows * cols) throw new Error(`heatmapSvg: ${values.length} values for a ${rows}x${cols} matrix`);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) { lo = Math.min(lo, values[i]!); hi = Math.max(hi, values[i]!); }
  lo = opts.min ?? (Number.isFinite(lo) ? lo : 0);
  hi = opts.max ?? (Number.isFinite(hi) ? hi : 1);
  const cell = opts.cellSize ?? Math.max(8, Math.min(40, Math.floor(480 / Math.max(rows, cols))));
  const m = { left: 56, top: opts.title ? 40 : 16, right: 80, bottom: 48 };
  const W = m.left + cols * cell + m.right;
  const H = m.top + rows * cell + m.bottom;
  const annotate = opts.annotate ?? rows * cols <= 144;
  const norm = (v: number) => (hi === lo ? 0.5 : (v - lo) / (hi - lo));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  if (opts.title) out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(opts.title)}</text>`);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c]!;
      const x = m.left + c * cell, y = m.top + r * cell;
      out.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${Number.isFinite(v) ? viridis(norm(v)) : '#ccc'}"><title>[${r}, ${c}] ${v}</title></rect>`);
      if (annotate && cell >= 20) {
        out.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" font-size="${Math.min(11, cell / 3)}" fill="${norm(v) > 0.6 ? 'black' : 'white'}">${Number.isFinite(v) ? v.toFixed(2) : '-'}</text>`);
      }
    }
  }
  // Label every k-th row / column so labels (about 14 px) never overlap.
  const every = Math.max(1, Math.ceil(14 / cell));
  for (let c = 0; c < cols; c += every) {
    out.push(`<text x="${m.left + c * cell + cell / 2}" y="${m.top + rows * cell + 14}" text-anchor="middle">${escapeXml(opts.colLabels?.[c] ?? String(c + 1))}</text>`);
  }
  for (let r = 0; r < rows; r += every) {
    out.push(`<text x="${m.left - 6}" y="${m.top + r * cell + cell / 2 + 4}" text-anchor="end">${escapeXml(opts.rowLabels?.[r] ?? String(r + 1))}</text>`);
  }
  if (opts.xLabel) out.push(`<text x="${m.left + (cols * cell) / 2}" y="${H - 10}" text-anchor="middle" font-size="12">${escapeXml(opts.xLabel)}</text>`);
  if (opts.yLabel) out.push(`<text transform="translate(14 ${m.top + (rows * cell) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(opts.yLabel)}</text>`);
  // Colour bar: 20 bands from max (top) to min (bottom), labelled at both ends and the middle.
  const bx = m.left + cols * cell + 20, bh = rows * cell, bands = 20;
  for (let i = 0; i < bands; i++) out.push(`<rect x="${bx}" y="${(m.top + (i * bh) / bands).toFixed(1)}" width="14" height="${(bh / bands + 0.5).toFixed(1)}" fill="${viridis(1 - (i + 0.5) / bands)}"/>`);
  out.push(`<rect x="${bx}" y="${m.top}" width="14" height="${bh}" fill="none" stroke="#333"/>`);
  for (const [t, v] of [[0, hi], [0.5, (lo + hi) / 2], [1, lo]] as const) {
    out.push(`<text x="${bx + 18}" y="${(m.top + t * bh + 4).toFixed(1)}">${formatTick(v)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
