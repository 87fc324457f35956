// Charts through Vega-Lite: line plots (loss curves), heatmaps (subspace similarity) and grouped bar
// charts (the experiments' tables), each a Vega-Lite spec rendered to SVG text by Vega. The same
// code runs in Node (the files `train`, the demo and the experiments write) and in a page (the
// playground's live loss plot); Vega needs no DOM and no canvas for SVG. Writing the text to disk
// is the caller's business.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Category colours: ten strong ones, then their light partners (a chart with 11-20 series stays legible). */
export const PALETTE = [
  '#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22',
  '#aec7e8', '#ff9896', '#98df8a', '#ffbb78', '#c5b0d5', '#c49c94', '#f7b6d2', '#9edae5', '#c7c7c7', '#dbdb8d',
];
const FONT = 'DejaVu Sans, Arial, Helvetica, sans-serif';

/** Settings every chart shares: white background, one font, a bottom legend that never truncates. */
const CONFIG = {
  font: FONT,
  title: { fontSize: 15, anchor: 'middle' as const },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 12, labelLimit: 0, orient: 'bottom' as const, direction: 'horizontal' as const, title: null },
  view: { stroke: '#333' },
};

/** Renders a Vega-Lite spec to standalone SVG text. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.endsWith('\n') ? svg : svg + '\n';
  } finally {
    view.finalize();
  }
}

/**
 * Columns for a bottom legend: as many labels as fit the chart's width per row. Vega without a
 * canvas (Node) estimates a label at 0.8 x font size per character, so plan with that width.
 */
function legendColumns(labels: readonly string[], width: number): number {
  const longest = Math.max(1, ...labels.map((l) => l.length));
  return Math.max(1, Math.min(labels.length, Math.floor(width / (longest * 0.8 * 12 + 40))));
}

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
}

export interface LineChartOptions {
  series: Series[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** The plot area's size in pixels (axes, title and legend come on top). */
  width?: number;
  height?: number;
  /** Log-scale y axis (values <= 0 are left out). */
  logY?: boolean;
  /** x counts something (steps): whole-number ticks only. */
  xInteger?: boolean;
  /** Longer series are thinned to about this many points (every k-th, keeping the last). */
  maxPoints?: number;
}

interface LineRow {
  series: string;
  x: number;
  y: number | null;
}

/** The rows a line chart draws: non-finite points (and non-positive ones on a log axis) become gaps. */
export function lineRows(o: LineChartOptions): LineRow[] {
  const rows: LineRow[] = [];
  const maxPoints = o.maxPoints ?? 2000;
  for (const s of o.series) {
    const n = Math.min(s.x.length, s.y.length);
    const stride = Math.max(1, Math.ceil(n / maxPoints));
    for (let i = 0; i < n; i += stride) {
      const j = i + stride >= n ? n - 1 : i; // always end on the last point
      const x = s.x[j]!;
      const y = s.y[j]!;
      if (!Number.isFinite(x)) continue;
      rows.push({ series: s.name, x, y: Number.isFinite(y) && (!o.logY || y > 0) ? y : null });
      if (j === n - 1) break;
    }
  }
  return rows;
}

/**
 * Line plot, one line per series. The y domain is the data's own range (not forced to zero, so
 * every point is inside the plot, the lowest included); the legend sits under the plot, in full.
 */
export function lineChartSpec(o: LineChartOptions): TopLevelSpec {
  const width = o.width ?? 560;
  const rows = lineRows(o);
  const names = o.series.map((s) => s.name);
  const colors = o.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
  const few = o.series.every((s) => Math.min(s.x.length, s.y.length) <= 40);
  const empty = !rows.some((r) => r.y !== null);
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(o.title ? { title: o.title } : {}),
    width,
    height: o.height ?? 300,
    padding: 8,
    background: 'white',
    config: CONFIG,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'line', strokeWidth: 1.5, clip: true, invalid: 'break-paths-filter-domains', ...(few ? { point: { size: 24 } } : {}) },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: o.xLabel ?? null, scale: { zero: false, nice: true }, ...(o.xInteger ? { axis: { tickMinStep: 1, format: 'd' } } : {}) },
          // A log axis spans the data exactly (nice powers of ten would leave most of it empty).
          y: { field: 'y', type: 'quantitative', title: o.yLabel ?? null, scale: o.logY ? { type: 'log', nice: false } : { zero: false, nice: true } },
          color: {
            field: 'series',
            type: 'nominal',
            sort: names,
            scale: { domain: names, range: colors },
            legend: names.length ? { columns: legendColumns(names, width), symbolType: 'stroke', symbolStrokeWidth: 2.5 } : null,
          },
        },
      },
      ...(empty ? [{ data: { values: [{}] }, mark: { type: 'text', text: 'no data', color: '#888', fontSize: 14 }, encoding: {} }] : []),
    ],
  };
  return spec as TopLevelSpec;
}

export function lineChartSvg(o: LineChartOptions): Promise<string> {
  return renderSvg(lineChartSpec(o));
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

/** A heatmap with a viridis colour bar, e.g. the subspace similarity between two adapters' factors. */
export function heatmapSpec(o: HeatmapOptions): TopLevelSpec {
  const { rows, cols, values } = o;
  if (values.length !== rows * cols) throw new Error(`heatmap: ${values.length} values for a ${rows}x${cols} matrix`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) { lo = Math.min(lo, values[i]!); hi = Math.max(hi, values[i]!); }
  lo = o.min ?? (Number.isFinite(lo) ? lo : 0);
  hi = o.max ?? (Number.isFinite(hi) ? hi : 1);
  const rowLabel = (r: number) => o.rowLabels?.[r] ?? String(r + 1);
  const colLabel = (c: number) => o.colLabels?.[c] ?? String(c + 1);
  const cells: { row: string; col: string; value: number | null; text: string }[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c]!;
      cells.push({ row: rowLabel(r), col: colLabel(c), value: Number.isFinite(v) ? v : null, text: Number.isFinite(v) ? v.toFixed(2) : '-' });
    }
  }
  // Cells fill about 560 x 320 pixels, each side on its own (an 8 x 64 matrix stays readable).
  const cellW = o.cellSize ?? Math.max(8, Math.min(40, Math.floor(560 / cols)));
  const cellH = o.cellSize ?? Math.max(8, Math.min(40, Math.floor(320 / rows)));
  const annotate = (o.annotate ?? rows * cols <= 144) && Math.min(cellW, cellH) >= 20;
  // Label every k-th row / column so labels (about 14 px tall, 20 px wide) never overlap.
  const shown = (labels: string[], every: number) => labels.filter((_, i) => i % every === 0);
  const rowOrder = Array.from({ length: rows }, (_, r) => rowLabel(r));
  const colOrder = Array.from({ length: cols }, (_, c) => colLabel(c));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(o.title ? { title: o.title } : {}),
    width: cols * cellW,
    height: rows * cellH,
    padding: 8,
    background: 'white',
    config: { ...CONFIG, legend: { ...CONFIG.legend, orient: 'right', direction: 'vertical' } },
    data: { values: cells },
    encoding: {
      x: { field: 'col', type: 'ordinal', sort: colOrder, title: o.xLabel ?? null, axis: { labelAngle: 0, values: shown(colOrder, Math.ceil(20 / cellW)) } },
      y: { field: 'row', type: 'ordinal', sort: rowOrder, title: o.yLabel ?? null, axis: { values: shown(rowOrder, Math.ceil(14 / cellH)) } },
    },
    layer: [
      {
        mark: { type: 'rect', tooltip: true },
        encoding: {
          color: {
            field: 'value',
            type: 'quantitative',
            scale: { scheme: 'viridis', domain: [lo, hi], clamp: true },
            legend: { title: null, gradientLength: Math.max(60, rows * cellH), tickCount: 3 },
          },
        },
      },
      ...(annotate
        ? [{ mark: { type: 'text', fontSize: Math.min(11, Math.min(cellW, cellH) / 3) }, encoding: { text: { field: 'text' }, color: { condition: { test: `datum.value > ${lo + (hi - lo) * 0.6}`, value: 'black' }, value: 'white' } } }]
        : []),
    ],
  };
  return spec as TopLevelSpec;
}

export function heatmapSvg(o: HeatmapOptions): Promise<string> {
  return renderSvg(heatmapSpec(o));
}

export interface BarGroup {
  label: string;
  /** One value per series; NaN draws no bar. */
  values: number[];
  /** Half-height of the error bar per series (e.g. a standard deviation); NaN or absent draws none. */
  errors?: number[];
}

export interface BarChartOptions {
  groups: BarGroup[];
  series: string[];
  title?: string;
  yLabel?: string;
  /** Fixed y range top (default: the data's max, error bars included). */
  yMax?: number;
  /** Dashed horizontal reference line, e.g. chance accuracy. */
  reference?: { value: number; label: string };
  width?: number;
  height?: number;
}

/** Grouped bars with optional error bars and a dashed reference line, for tables without an x axis. */
export function barChartSpec(o: BarChartOptions): TopLevelSpec {
  const groups = o.groups.map((g) => g.label);
  const bars: { group: string; series: string; value: number; lo?: number; hi?: number }[] = [];
  for (const g of o.groups) {
    g.values.forEach((v, si) => {
      if (!Number.isFinite(v)) return;
      const e = g.errors?.[si];
      const bar: (typeof bars)[number] = { group: g.label, series: o.series[si] ?? String(si + 1), value: v };
      if (e !== undefined && Number.isFinite(e) && e > 0) Object.assign(bar, { lo: v - e, hi: v + e });
      bars.push(bar);
    });
  }
  const errors = bars.filter((b) => b.lo !== undefined);
  const width = o.width ?? Math.max(400, groups.length * (24 + 18 * o.series.length));
  const y = { field: 'value', type: 'quantitative', title: o.yLabel ?? null, ...(o.yMax !== undefined ? { scale: { domain: [0, o.yMax] } } : {}) };
  const x = { field: 'group', type: 'nominal', sort: groups, title: null, scale: { paddingInner: 0.3 }, axis: { labelAngle: -30, labelLimit: 0 } };
  const xOffset = { field: 'series', sort: o.series, scale: { paddingInner: 0.08 } };
  const multi = o.series.length > 1;
  const color = {
    field: 'series',
    type: 'nominal',
    sort: o.series,
    scale: { domain: o.series, range: o.series.map((_, i) => PALETTE[i % PALETTE.length]!) },
    legend: multi ? { columns: legendColumns(o.series, width) } : null,
  };
  const layers: object[] = [
    { data: { values: bars }, mark: { type: 'bar', tooltip: true }, encoding: { x, xOffset, y, color } },
    // Error bars: a rule from lo to hi with a short cap at each end.
    { data: { values: errors }, mark: { type: 'rule', color: 'black' }, encoding: { x, xOffset, y: { ...y, field: 'lo' }, y2: { field: 'hi' } } },
    { data: { values: errors }, mark: { type: 'tick', color: 'black', size: 8, thickness: 1 }, encoding: { x, xOffset, y: { ...y, field: 'lo' } } },
    { data: { values: errors }, mark: { type: 'tick', color: 'black', size: 8, thickness: 1 }, encoding: { x, xOffset, y: { ...y, field: 'hi' } } },
  ];
  if (o.reference) {
    const ref = [{ value: o.reference.value, label: o.reference.label }];
    layers.push(
      { data: { values: ref }, mark: { type: 'rule', color: '#555', strokeDash: [5, 4] }, encoding: { y } },
      // The label sits just right of the plot, where no bar can cover it.
      { data: { values: ref }, mark: { type: 'text', align: 'left', baseline: 'middle', dx: 4, color: '#555', x: 'width' }, encoding: { y, text: { field: 'label' } } },
    );
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(o.title ? { title: o.title } : {}),
    width,
    height: o.height ?? 260,
    padding: 8,
    background: 'white',
    config: CONFIG,
    layer: layers,
  };
  return spec as TopLevelSpec;
}

export function barChartSvg(o: BarChartOptions): Promise<string> {
  return renderSvg(barChartSpec(o));
}
