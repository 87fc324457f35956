// runtime/report: metrics logs, Vega-Lite charts and the progress display.
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { MetricsLog, csvRow } from '../../../runtime/report/logger.ts';
import { openMetricsFile } from '../../../runtime/report/node-logger.ts';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { barChartSvg, heatmapSpec, heatmapSvg, lineChartSpec, lineChartSvg, lineRows } from '../../../runtime/report/charts.ts';
import { TrainingProgress, formatDuration } from '../../../runtime/report/progress.ts';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('metrics logs', () => {
  it('CSV with a fixed header, quoting and empty cells', () => {
    const lines: string[] = [];
    const log = new MetricsLog('csv', (t) => lines.push(t), { columns: ['step', 'loss', 'note'] });
    log.log({ step: 1, loss: 2.5 });
    log.log({ step: 2, loss: NaN, note: 'a, "b"' });
    expect(lines.join('')).toBe('step,loss,note\n1,2.5,\n2,nan,"a, ""b"""\n');
    expect(() => log.log({ step: 3, lr: 1 })).toThrow(/lr/);
    expect(csvRow(['x\ny', Infinity])).toBe('"x\ny",inf');
  });
  it('JSONL, with non-finite numbers as null', () => {
    const lines: string[] = [];
    const log = new MetricsLog('jsonl', (t) => lines.push(t));
    log.log({ step: 1, loss: Infinity, eval: 0.5 });
    expect(JSON.parse(lines[0]!)).toEqual({ step: 1, loss: null, eval: 0.5 });
  });
  it('appends to a file and writes the CSV header once across runs', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rankfold-log-'));
    made.push(d);
    const f = path.join(d, 'sub', 'metrics.csv');
    openMetricsFile(f).log({ step: 1, loss: 3 });
    openMetricsFile(f).log({ step: 2, loss: 2 });
    expect(fs.readFileSync(f, 'utf8')).toBe('step,loss\n1,3\n2,2\n');
  });
});

describe('charts (Vega-Lite)', () => {
  /** The rendered chart's scales and size, from the same spec the SVG is drawn from. */
  async function viewOf(spec: ReturnType<typeof lineChartSpec>): Promise<vega.View> {
    const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
    await view.runAsync();
    return view;
  }
  const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
  const linePaths = (svg: string) => [...svg.matchAll(/aria-roledescription="line mark" d="([^"]*)"/g)].map((m) => m[1]!);

  it('line chart: a line per series, axis ticks and titles, escaping, gaps at NaN', async () => {
    const x = Array.from({ length: 100 }, (_, i) => i);
    const svg = await lineChartSvg({
      title: 'loss <train>',
      xLabel: 'step',
      yLabel: 'loss',
      series: [
        { name: 'train', x, y: x.map((i) => 4 * Math.exp(-i / 30)) },
        { name: 'eval', x, y: x.map((i) => (i === 50 ? NaN : 4.2 * Math.exp(-i / 35))) },
      ],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('loss &lt;train&gt;');
    const paths = linePaths(svg);
    expect(paths).toHaveLength(2);
    expect(paths.map((d) => d.match(/M/g)!.length)).toEqual([1, 2]); // eval is split at the NaN
    const t = texts(svg);
    for (const label of ['step', 'loss', 'train', 'eval', '0', '50', '100']) expect(t).toContain(label);
    expect(svg).not.toContain('NaN');
    expect(await lineChartSvg({ series: [] })).toContain('no data');
  });

  it('line chart: the y range holds every point, the lowest included', async () => {
    // The demo's curve: pretraining from 5.6 down to 1.1, then the LoRA run from 3 down to 0.04.
    const pre = Array.from({ length: 30 }, (_, i) => ({ x: (i + 1) * 10, y: 1.1 + 4.5 * Math.exp(-i / 6) }));
    const lora = Array.from({ length: 20 }, (_, i) => ({ x: 310 + i * 10, y: 0.04 + 3 * Math.exp(-i / 3) }));
    const spec = lineChartSpec({ series: [{ name: 'pretrain', x: pre.map((p) => p.x), y: pre.map((p) => p.y) }, { name: 'LoRA', x: lora.map((p) => p.x), y: lora.map((p) => p.y) }] });
    const view = await viewOf(spec);
    const [lo, hi] = view.scale('y').domain() as [number, number];
    const ys = [...pre, ...lora].map((p) => p.y);
    expect(lo).toBeLessThanOrEqual(Math.min(...ys));
    expect(hi).toBeGreaterThanOrEqual(Math.max(...ys));
    expect(lo).toBeGreaterThanOrEqual(0); // not padded below zero either
    const [x0, x1] = view.scale('x').domain() as [number, number];
    expect(x0).toBeLessThanOrEqual(10);
    expect(x1).toBeGreaterThanOrEqual(500);
    view.finalize();
    // A log axis leaves out values <= 0 and spans the rest.
    const log = lineChartSpec({ series: [{ name: 'a', x: [1, 2, 3, 4], y: [0, 1, 10, 100] }], logY: true });
    const logView = await viewOf(log);
    expect(logView.scale('y').domain()).toEqual([1, 100]);
    logView.finalize();
    expect(texts(await lineChartSvg({ series: [{ name: 'a', x: [1, 2, 3], y: [1, 10, 100] }], logY: true }))).toContain('100');
  });

  it('line chart: the legend sits under the plot with every label whole, inside the SVG', async () => {
    const long = 'LoRA (adapter only, rank 8 on q_proj and v_proj)';
    const x = [1, 2, 3];
    const svg = await lineChartSvg({ width: 560, series: [{ name: 'pretrain (all weights)', x, y: [3, 2, 1] }, { name: long, x, y: [2, 1, 0.5] }] });
    expect(texts(svg)).toContain(long);
    expect(svg).not.toContain('…');
    const width = Number(svg.match(/<svg[^>]* width="([\d.]+)"/)![1]);
    const height = Number(svg.match(/<svg[^>]* height="([\d.]+)"/)![1]);
    expect(width).toBeLessThan(640); // the legend wraps under a 560-pixel plot instead of widening it
    const view = await viewOf(lineChartSpec({ width: 560, height: 300, series: [{ name: 'a', x, y: [1, 2, 3] }] }));
    expect(view.height()).toBe(300);
    view.finalize();
    // The legend's labels come after the 300-pixel plot area and the x axis.
    const legendY = Number(svg.match(/role-legend"[\s\S]*?transform="translate\([\d.]+,([\d.]+)\)"/)![1]);
    expect(legendY).toBeGreaterThan(300);
    expect(height).toBeGreaterThan(legendY);
  });

  it('line chart: long series are thinned to about maxPoints, ending on the last point', () => {
    const rows = lineRows({ series: [{ name: 'a', x: Array.from({ length: 10000 }, (_, i) => i), y: new Float32Array(10000).fill(1) }], maxPoints: 100 });
    expect(rows.length).toBeLessThanOrEqual(101);
    expect(rows.at(-1)!.x).toBe(9999);
  });

  it('heatmap: a cell per value, a colour bar, labels', async () => {
    const values = new Float32Array(16).map((_, i) => i / 15);
    const svg = await heatmapSvg({ values, rows: 4, cols: 4, min: 0, max: 1, title: 'similarity', rowLabels: ['a', 'b', 'c', 'd'] });
    expect(svg.match(/aria-roledescription="rect mark"/g)!.length).toBe(16);
    const t = texts(svg);
    expect(t).toContain('similarity');
    expect(t).toContain('a');
    expect(t).toContain('0.00');
    expect(t).toContain('1.0'); // the colour bar's top
    expect(svg).toContain('linearGradient');
    expect(() => heatmapSpec({ values, rows: 3, cols: 4 })).toThrow(/16 values for a 3x4/);
  });

  it('bar chart: grouped bars, error bars, a dashed reference line, missing values skipped', async () => {
    const svg = await barChartSvg({ groups: [{ label: 'a', values: [0.5, NaN], errors: [0.1, NaN] }, { label: 'b<c', values: [0.2, 0.3] }], series: ['x', 'y'], reference: { value: 0.33, label: 'chance' } });
    expect(svg).toContain('b&lt;c');
    expect(svg).toContain('stroke-dasharray');
    expect(svg.match(/aria-roledescription="bar"/g)!.length).toBe(3);
    expect(svg.match(/aria-roledescription="rule mark"/g)!.length).toBe(2); // one error bar, one reference line
    expect(svg.match(/aria-roledescription="tick"/g)!.length).toBe(2); // its two caps
    expect(texts(svg)).toContain('chance');
    expect(svg).not.toContain('NaN');
  });
});

describe('progress', () => {
  function capture(): { stream: NodeJS.WriteStream; text: () => string } {
    const s = new PassThrough();
    let out = '';
    s.on('data', (c) => (out += c.toString()));
    return { stream: s as unknown as NodeJS.WriteStream, text: () => out };
  }
  it('prints plain periodic lines when not a TTY', () => {
    let t = 0;
    const { stream, text } = capture();
    const p = new TrainingProgress({ total: 100, stream, tty: false, intervalMs: 1000, now: () => t });
    for (let s = 1; s <= 100; s++) {
      t += 100;
      p.update(s, { loss: 5 / s, tokens: s * 512 });
    }
    p.log('eval loss 1.2');
    p.stop();
    const lines = text().trim().split('\n');
    expect(lines[0]).toBe('train step 1/100 (1%) loss 5.0000 | 5120 tok/s | ETA 10s');
    expect(lines).toContain('eval loss 1.2');
    expect(lines.at(-2)).toMatch(/^train step 100\/100 \(100%\) loss 0\.0500 \| 5120 tok\/s \| ETA 0s$/);
    expect(lines.length).toBeLessThan(15);
  });
  it('drives a cli-progress bar on a TTY', () => {
    const { stream, text } = capture();
    const p = new TrainingProgress({ total: 10, stream, tty: true, label: 'demo' });
    p.update(5, { loss: 1.23456, tokens: 100 });
    p.stop();
    expect(text()).toContain('demo [');
    expect(text()).toContain('loss 1.2346');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(NaN)).toBe('?');
  });
});
