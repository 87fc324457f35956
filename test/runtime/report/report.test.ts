// runtime/report: metrics logs, SVG charts and the progress display.
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { MetricsLog, csvRow } from '../../../runtime/report/logger.ts';
import { openMetricsFile } from '../../../runtime/report/node-logger.ts';
import { heatmapSvg, linePlotSvg, niceTicks, formatTick, viridis } from '../../../runtime/report/svg.ts';
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

describe('svg', () => {
  it('nice ticks and labels', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.13, 0.91, 4)).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(3, 3).length).toBeGreaterThan(0);
    expect(formatTick(0.1 + 0.2)).toBe('0.3');
    expect(formatTick(2e6)).toBe('2.0e6');
    expect(viridis(0)).toBe('rgb(68,1,84)');
    expect(viridis(1)).toBe('rgb(253,231,37)');
  });
  it('line plot: a polyline per series, axes, legend, escaping, gaps at NaN', () => {
    const x = Array.from({ length: 100 }, (_, i) => i);
    const svg = linePlotSvg({
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
    expect(svg.match(/<polyline/g)!.length).toBe(3); // eval is split at the NaN
    expect(svg).toContain('>train</text>');
    expect(svg).toContain('>step</text>');
    expect(svg).not.toContain('NaN');
    const log = linePlotSvg({ series: [{ name: 'a', x: [1, 2, 3], y: [1, 10, 100] }], logY: true });
    expect(log).toContain('>100</text>');
    const thin = linePlotSvg({ series: [{ name: 'a', x: Array.from({ length: 10000 }, (_, i) => i), y: new Float32Array(10000).fill(1) }], maxPoints: 100 });
    expect(thin.match(/points="([^"]*)"/)![1]!.split(' ').length).toBeLessThanOrEqual(101);
    expect(linePlotSvg({ series: [] })).toContain('no data');
  });
  it('heatmap: a cell per value, a colour bar, labels', () => {
    const values = new Float32Array(16).map((_, i) => i / 15);
    const svg = heatmapSvg({ values, rows: 4, cols: 4, min: 0, max: 1, title: 'similarity', rowLabels: ['a', 'b', 'c', 'd'] });
    expect(svg.match(/<title>/g)!.length).toBe(16);
    expect(svg).toContain('>similarity</text>');
    expect(svg).toContain('>a</text>');
    expect(svg).toContain('>1</text>');
    expect(() => heatmapSvg({ values, rows: 3, cols: 4 })).toThrow();
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
