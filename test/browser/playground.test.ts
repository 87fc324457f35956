// `npm run test:browser`: the built playground (dist/web, `npm run build:web`) served on 127.0.0.1
// and driven in headless Chromium with WebGPU (apps/playground/chromium.ts). The page must load
// with no errors and a WebGPU adapter; a typed error must give the CLI's diagnostic, underlined;
// training must bring the loss down; the downloaded adapter must equal the same seeded run in Node
// (engine.ts on Dawn) to 1e-4; merged answers must equal unmerged ones; an adapter and a Hugging
// Face folder must load from disk. A screenshot of the page after training goes to out/browser/.
// Under CI=true a missing Chromium or adapter fails; elsewhere a missing Chromium skips.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'puppeteer-core';
import { browserAdapter, chromiumMissing, launchChromium, openPlayground, waitTrained, type OpenedPage } from '../../apps/playground/chromium.ts';
import { serveStatic, WEB_DIR, type StaticServer } from '../../apps/playground/serve.ts';
import { ModelFolder } from '../../runtime/io/model-folder.ts';
import {
  BASE_ASSET,
  DEFAULT_SETTINGS,
  FOLDER_PROMPT,
  SPEC_FILE,
  adapterFiles,
  baseFromBytes,
  folderWeights,
  checkText,
  continueIds,
  createGpu,
  modelForConfig,
  parseSafetensors,
  trainAdapter,
  trainShape,
} from '../../apps/playground/src/engine.ts';
import { checkSpec, formatDiagnostics } from '../../compiler/check/index.ts';
import { inCi } from '../helpers/gpu.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const OUT = path.join(ROOT, 'out', 'browser');
const SPEC = fs.readFileSync(path.join(ROOT, 'dsl-examples', 'char-gpt.rf'), 'utf8');
/** Training steps in the page: enough for the loss to fall clearly, few enough for SwiftShader. */
const STEPS = Number(process.env.RANKFOLD_BROWSER_STEPS ?? 30);
const TOLERANCE = 1e-4;

const missing = chromiumMissing();
if (missing && inCi) throw new Error(`CI=true but ${missing}`);

describe.skipIf(missing !== undefined)('the playground in headless Chromium', () => {
  let server: StaticServer;
  let browser: Browser;
  let opened: OpenedPage;
  const downloads = path.join(OUT, 'downloads');

  beforeAll(async () => {
    if (!fs.existsSync(path.join(WEB_DIR, 'index.html'))) throw new Error(`${WEB_DIR}/index.html is missing: npm run test:browser builds it (npm run build:web)`);
    fs.rmSync(downloads, { recursive: true, force: true });
    fs.mkdirSync(downloads, { recursive: true });
    server = await serveStatic(WEB_DIR);
    browser = await launchChromium(browserAdapter(), downloads);
    opened = await openPlayground(browser, server.url);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('opens with the editor, no page errors and a WebGPU adapter', async () => {
    const { page, errors, adapterName } = opened;
    expect(errors).toEqual([]);
    expect(await page.$eval('#gpu-status', (e) => e.className)).toContain('ok');
    expect(adapterName).not.toBe('');
    expect(await page.$eval('#spec-text', (e) => (e as HTMLTextAreaElement).value)).toBe(SPEC);
    expect(await page.$eval('#diagnostics', (e) => e.textContent)).toContain(`${SPEC_FILE}: no errors`);
    // The memory plan is the CLI's (`rankfold compile --emit plan`).
    expect(await page.$eval('#plan', (e) => e.textContent)).toMatch(/^adapter_weights\s+16384 B/m);
  });

  it('says plainly how to get WebGPU in a browser without it, and still checks specs', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push((e as Error).message));
    // A browser without WebGPU: no navigator.gpu.
    await page.evaluateOnNewDocument(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
    const status = await page.$eval('#gpu-status', (e) => ({ text: e.textContent ?? '', cls: e.className }));
    expect(status.cls).toContain('error');
    expect(status.text).toContain('This browser has no WebGPU');
    expect(status.text).toContain('chrome://flags/#enable-unsafe-webgpu');
    expect(await page.$eval('#train-button', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    expect(await page.$eval('#train-status', (e) => e.textContent)).toContain('Training needs WebGPU');
    expect(await page.$eval('#diagnostics', (e) => e.textContent)).toContain(`${SPEC_FILE}: no errors`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('underlines a typed error and prints the diagnostic as the CLI does', async () => {
    const { page } = opened;
    // Select the first `linear` of the q projection's line and type a misspelling over it.
    const line = SPEC.split('\n').findIndex((l) => l.includes('attn.q_proj')) + 1;
    const col = SPEC.split('\n')[line - 1]!.indexOf('linear') + 1;
    const at = SPEC.split('\n').slice(0, line - 1).join('\n').length + 1 + col - 1;
    await page.focus('#spec-text');
    await page.$eval('#spec-text', (e, from) => (e as HTMLTextAreaElement).setSelectionRange(from, from + 'linear'.length), at);
    await page.keyboard.type('lienar');
    await page.waitForFunction(() => document.getElementById('diagnostics')!.dataset.count !== '0', { timeout: 10_000 });
    const edited = SPEC.slice(0, at) + 'lienar' + SPEC.slice(at + 'linear'.length);
    expect(await page.$eval('#spec-text', (e) => (e as HTMLTextAreaElement).value)).toBe(edited);
    const cli = checkSpec(edited, SPEC_FILE);
    const text = await page.$eval('#diagnostics', (e) => e.textContent);
    expect(text).toBe(formatDiagnostics(cli.diagnostics, cli.source));
    expect(text).toContain(`${SPEC_FILE}:${line}:${col}: error[E0304]: unknown function 'lienar' (did you mean 'linear'?)`);
    expect(await page.$$eval('#spec-backdrop mark', (ms) => ms.map((m) => m.textContent))).toEqual(['lienar']);
    expect(await page.$eval('#train-button', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    // Typing the right name back clears it.
    await page.$eval('#spec-text', (e, from) => (e as HTMLTextAreaElement).setSelectionRange(from, from + 'lienar'.length), at);
    await page.keyboard.type('linear');
    await page.waitForFunction(() => document.getElementById('diagnostics')!.dataset.count === '0', { timeout: 10_000 });
    expect(await page.$$eval('#spec-backdrop mark', (ms) => ms.length)).toBe(0);
  });

  it(`trains ${STEPS} steps with the loss falling, and the adapter equals the same seeded run in Node`, async () => {
    const { page, errors } = opened;
    await page.waitForFunction(() => !(document.getElementById('train-button') as HTMLButtonElement).disabled, { timeout: 10_000 });
    await page.$eval('#steps', (e, n) => ((e as HTMLInputElement).value = String(n)), STEPS);
    const t0 = performance.now();
    await page.click('#train-button');
    const trained = await waitTrained(page, 480_000);
    const browserSeconds = (performance.now() - t0) / 1000;
    expect(trained.state, trained.text).toBe('done');
    expect(trained.text).toContain(`${STEPS} steps`);
    expect(trained.lastLoss).toBeLessThan(trained.firstLoss * 0.8);
    expect(await page.$$eval('#loss-plot svg [aria-roledescription="line mark"]', (p) => p.length)).toBe(1);
    expect(await page.$eval('#progress-bar', (e) => (e as HTMLElement).style.width)).toBe('100%');

    // Download the two PEFT files through their links.
    await page.waitForSelector('#downloads:not([hidden])');
    await page.click('#download-config');
    await page.click('#download-weights');
    const config = path.join(downloads, 'adapter_config.json');
    const weights = path.join(downloads, 'adapter_model.safetensors');
    for (let i = 0; i < 100 && !(fs.existsSync(config) && fs.existsSync(weights)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(fs.existsSync(config) && fs.existsSync(weights)).toBe(true);

    // The same run in Node: same spec, base asset, seed, data and order, on Dawn.
    const gpu = await createGpu().catch((err: Error) => err);
    if (gpu instanceof Error) {
      if (inCi) throw new Error(`CI=true but no WebGPU adapter in Node: ${gpu.message}`);
      console.warn(`skipping the Node comparison: no WebGPU adapter in Node (${gpu.message.split('\n')[0]})`);
      return;
    }
    try {
      const model = checkText(SPEC).model!;
      const base = baseFromBytes(model, new Uint8Array(fs.readFileSync(path.join(ROOT, 'apps', 'playground', 'public', BASE_ASSET))));
      const t1 = performance.now();
      const node = await trainAdapter({ gpu, model, base }, { ...DEFAULT_SETTINGS, steps: STEPS, ...trainShape(model) });
      const nodeSeconds = (performance.now() - t1) / 1000;
      const ours = adapterFiles(node.adapter);
      expect(fs.readFileSync(config, 'utf8')).toBe(ours.config);
      const fromPage = parseSafetensors(new Uint8Array(fs.readFileSync(weights)), 'page adapter');
      const fromNode = parseSafetensors(ours.weights, 'node adapter');
      expect([...fromPage.names].sort()).toEqual([...fromNode.names].sort());
      let worst = 0;
      for (const name of fromNode.names) {
        expect(fromPage.info(name).shape).toEqual(fromNode.info(name).shape);
        const a = fromPage.getFloat32(name);
        const b = fromNode.getFloat32(name);
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      }
      // The losses agree step by step too (the page logs every step).
      const nodeFirst = node.history[0]!.loss;
      const nodeLast = node.history.at(-1)!.loss;
      console.log(`browser (${opened.adapterName}) ${STEPS} steps in ${browserSeconds.toFixed(1)} s incl. answers; Node (${gpu.adapterName}) ${nodeSeconds.toFixed(1)} s; loss ${trained.firstLoss.toFixed(4)} -> ${trained.lastLoss.toFixed(4)} (Node ${nodeFirst.toFixed(4)} -> ${nodeLast.toFixed(4)}); max |page - Node| over adapter tensors ${worst.toExponential(2)}`);
      expect(Math.abs(trained.firstLoss - nodeFirst)).toBeLessThan(1e-4);
      expect(worst).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      gpu.device.destroy();
    }
    expect(errors).toEqual([]);
  });

  it('loads the adapter back from disk, and gives the same answers merged and unmerged', async () => {
    const { page, errors } = opened;
    const input = await page.$('#adapter-files');
    await (input as unknown as { uploadFile(...p: string[]): Promise<void> }).uploadFile(path.join(downloads, 'adapter_config.json'), path.join(downloads, 'adapter_model.safetensors'));
    await page.waitForFunction(() => /^(Loaded|Could not)/.test(document.getElementById('answers-status')!.textContent ?? ''), { timeout: 180_000 });
    expect(await page.$eval('#answers-status', (e) => e.textContent)).toMatch(/^Loaded adapter_model\.safetensors \(r=8, alpha 16\)/);
    await page.click('#merge-button');
    await page.waitForFunction(() => document.getElementById('answers-status')!.dataset.mergedSame !== undefined, { timeout: 180_000 });
    expect(await page.$eval('#answers-status', (e) => (e as HTMLElement).dataset.mergedSame)).toBe('true');
    const columns = await page.$$eval('#answers-table tbody tr', (rows) => rows.map((r) => Array.from(r.children, (c) => c.textContent)));
    expect(columns.length).toBe(8);
    for (const [, , before, after, merged] of columns) {
      expect(before).not.toBe('');
      expect(merged).toBe(after);
    }
    // Screenshot of what a person sees after training: editor, plan, loss curve, answers.
    await page.$eval('#spec-text', (e) => {
      e.scrollTop = 0;
      e.dispatchEvent(new Event('scroll'));
    });
    fs.mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: path.join(OUT, 'playground.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('opens a Hugging Face model folder from disk and runs it as Node does', async () => {
    const { page, errors } = opened;
    const dir = path.join(ROOT, 'test', 'fixtures', 'conformance', 'llama_qv_r4');
    const input = await page.$('#hf-folder');
    await (input as unknown as { uploadFile(...p: string[]): Promise<void> }).uploadFile(dir);
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('hf-result')!.dataset.state ?? ''), { timeout: 180_000 });
    const text = await page.$eval('#hf-result', (e) => e.textContent ?? '');
    expect(await page.$eval('#hf-result', (e) => (e as HTMLElement).dataset.state), text).toBe('done');
    expect(text).toContain('llama_qv_r4: llama through llama.rf');
    expect(text).toMatch(/every shape as the spec says/);
    const ids = /greedy continuation of token ids \[1, 5, 9, 13\] -> \[([\d, ]+)\]/.exec(text)?.[1]?.split(', ').map(Number);
    expect(ids).toHaveLength(8);
    // Node opens the same folder with ModelFolder (the same validation and streaming reader over
    // file handles), loads the same spec and continues the same prompt.
    const gpu = await createGpu().catch((err: Error) => err);
    if (gpu instanceof Error) {
      if (inCi) throw new Error(`CI=true but no WebGPU adapter in Node: ${gpu.message}`);
      return;
    }
    try {
      const folder = await ModelFolder.open(dir);
      try {
        const model = modelForConfig(fs.readFileSync(path.join(ROOT, 'dsl-examples', 'llama.rf'), 'utf8'), 'llama.rf', folder.config);
        const weights = await folderWeights(model, folder);
        expect(await continueIds(gpu, model, weights, FOLDER_PROMPT, 8)).toEqual(ids);
      } finally {
        await folder.close();
      }
    } finally {
      gpu.device.destroy();
    }
    expect(errors).toEqual([]);
    // The whole page once more, with the folder's result in section 5.
    await page.screenshot({ path: path.join(OUT, 'playground.png'), fullPage: true });
  });
});
