// A grouped bar chart with optional error bars, for the tables that have no x axis (which weights
// to adapt, memory by category). Line plots and heatmaps come from runtime/report/svg.ts.
import { escapeXml, formatTick, niceTicks } from '../../runtime/report/svg.ts';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

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
  /** Fixed y range (default: 0 to the data's max). */
  yMax?: number;
  /** Dashed horizontal reference line, e.g. chance accuracy. */
  reference?: { value: number; label: string };
  width?: number;
  height?: number;
}

export function barChartSvg(o: BarChartOptions): string {
  const W = o.width ?? Math.max(480, 90 + o.groups.length * (24 + 18 * o.series.length));
  const H = o.height ?? 360;
  const m = { left: 64, right: 16, top: o.title ? 36 : 16, bottom: 80 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  let hi = o.yMax ?? 0;
  if (o.yMax === undefined) {
    for (const g of o.groups) g.values.forEach((v, i) => { if (Number.isFinite(v)) hi = Math.max(hi, v + (Number.isFinite(g.errors?.[i] ?? NaN) ? g.errors![i]! : 0)); });
    if (o.reference) hi = Math.max(hi, o.reference.value);
    if (hi === 0) hi = 1;
  }
  const ticks = niceTicks(0, hi, 5).filter((t) => t >= 0);
  const top = Math.max(hi, ticks[ticks.length - 1] ?? hi);
  const sy = (v: number) => m.top + ph - (Math.max(0, Math.min(v, top)) / top) * ph;
  const f = (n: number) => n.toFixed(1);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  if (o.title) out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`);
  for (const t of ticks) {
    out.push(`<line x1="${m.left}" y1="${f(sy(t))}" x2="${m.left + pw}" y2="${f(sy(t))}" stroke="#eee"/>`);
    out.push(`<text x="${m.left - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${formatTick(t)}</text>`);
  }
  const gw = pw / Math.max(1, o.groups.length);
  const bw = Math.min(28, (gw - 12) / Math.max(1, o.series.length));
  o.groups.forEach((g, gi) => {
    const x0 = m.left + gi * gw + (gw - bw * o.series.length) / 2;
    g.values.forEach((v, si) => {
      if (!Number.isFinite(v)) return;
      const x = x0 + si * bw;
      const color = PALETTE[si % PALETTE.length]!;
      out.push(`<rect x="${f(x)}" y="${f(sy(v))}" width="${f(bw - 2)}" height="${f(sy(0) - sy(v))}" fill="${color}"><title>${escapeXml(`${g.label} ${o.series[si] ?? ''}: ${v}`)}</title></rect>`);
      const e = g.errors?.[si];
      if (e !== undefined && Number.isFinite(e) && e > 0) {
        const cx = x + (bw - 2) / 2;
        out.push(`<line x1="${f(cx)}" y1="${f(sy(v - e))}" x2="${f(cx)}" y2="${f(sy(v + e))}" stroke="black"/>`);
        out.push(`<line x1="${f(cx - 4)}" y1="${f(sy(v + e))}" x2="${f(cx + 4)}" y2="${f(sy(v + e))}" stroke="black"/>`);
        out.push(`<line x1="${f(cx - 4)}" y1="${f(sy(v - e))}" x2="${f(cx + 4)}" y2="${f(sy(v - e))}" stroke="black"/>`);
      }
    });
    // Group labels are rotated so long ones ("Wq+Wk+Wv+Wo r=2") do not collide.
    const lx = m.left + gi * gw + gw / 2;
    out.push(`<text transform="translate(${f(lx)} ${m.top + ph + 12}) rotate(30)" text-anchor="start">${escapeXml(g.label)}</text>`);
  });
  if (o.reference) {
    const y = f(sy(o.reference.value));
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#555" stroke-dasharray="5,4"/>`);
    out.push(`<text x="${m.left + pw - 4}" y="${Number(y) - 4}" text-anchor="end" fill="#555">${escapeXml(o.reference.label)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  if (o.yLabel) out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`);
  if (o.series.length > 1) {
    o.series.forEach((s, si) => {
      const ly = m.top + 14 + si * 16;
      out.push(`<rect x="${m.left + 8}" y="${ly - 10}" width="12" height="12" fill="${PALETTE[si % PALETTE.length]}"/>`);
      out.push(`<text x="${m.left + 26}" y="${ly}">${escapeXml(s)}</text>`);
    });
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
