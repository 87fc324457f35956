// Section `browser`: the playground's training step (the char GPT of dsl-examples/char-gpt.rf, LoRA
// r=8 on q and v, batch 16, seq 32, AdamW) timed in headless Chromium and in Node on the same adapter
// settings, base weights and data: engine.timeTrainSteps on both sides (the page exposes it as
// window.rankfoldBench). Runs alternate between the two so that load on the machine hits both alike;
// the medians' ratio is the result. Both adapters are CPU ones here (Chromium's SwiftShader, Node's
// Dawn on lavapipe), so only the ratio means anything, and the training losses must agree.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'vite';
import type { GpuContext } from '../runtime/device/device.ts';
import { browserAdapter, chromiumMissing, launchChromium, openPlayground } from '../apps/playground/chromium.ts';
import { serveStatic, WEB_DIR } from '../apps/playground/serve.ts';
import { BASE_ASSET, DEFAULT_SETTINGS, baseFromBytes, checkText, timeTrainSteps, trainShape } from '../apps/playground/src/engine.ts';
import type { BrowserRow } from './format.ts';
import { median } from './timing.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

export async function benchBrowser(gpu: GpuContext, quick: boolean, log: (s: string) => void): Promise<BrowserRow> {
  const missing = chromiumMissing();
  if (missing) throw new Error(`--only browser: ${missing}`);
  log('building the playground (vite)');
  await build({ configFile: path.join(ROOT, 'apps', 'playground', 'vite.config.ts'), logLevel: 'warn' });
  const warmup = 3;
  const steps = quick ? 10 : 30;
  const reps = quick ? 2 : 3;

  const model = checkText(fs.readFileSync(path.join(ROOT, 'dsl-examples', 'char-gpt.rf'), 'utf8')).model!;
  const base = baseFromBytes(model, new Uint8Array(fs.readFileSync(path.join(ROOT, 'apps', 'playground', 'public', BASE_ASSET))));
  const settings = { ...DEFAULT_SETTINGS, ...trainShape(model) };

  const server = await serveStatic(WEB_DIR);
  const adapter = browserAdapter();
  const browser = await launchChromium(adapter);
  try {
    const { page, errors, adapterName } = await openPlayground(browser, server.url);
    if (!adapterName) throw new Error(`the page found no WebGPU adapter: ${await page.$eval('#gpu-status', (e) => e.textContent)}`);
    const inPage = (w: number, n: number) =>
      page.evaluate((w2, n2) => (window as unknown as { rankfoldBench(w: number, n: number): Promise<{ msPerStep: number; loss: number }> }).rankfoldBench(w2, n2), w, n);
    const browserMs: number[] = [];
    const nodeMs: number[] = [];
    let browserLoss = NaN;
    let nodeLoss = NaN;
    for (let rep = 0; rep < reps; rep++) {
      const n = await timeTrainSteps({ gpu, model, base }, settings, warmup, steps);
      nodeMs.push(n.msPerStep);
      nodeLoss = n.loss;
      const b = await inPage(warmup, steps);
      browserMs.push(b.msPerStep);
      browserLoss = b.loss;
      log(`browser rep ${rep + 1}/${reps}: Chromium ${b.msPerStep.toFixed(1)} ms/step, Node ${n.msPerStep.toFixed(1)} ms/step (losses ${b.loss.toFixed(5)} / ${n.loss.toFixed(5)})`);
    }
    if (errors.length) throw new Error(`the page reported errors: ${errors.join('; ')}`);
    const b = median(browserMs);
    const n = median(nodeMs);
    return {
      browserAdapter: `${adapterName} (Chromium, ${adapter})`,
      nodeAdapter: gpu.adapterName,
      batch: settings.batch,
      seq: settings.seq,
      steps,
      reps,
      browserMs: b,
      nodeMs: n,
      ratio: b / n,
      browserLoss,
      nodeLoss,
    };
  } finally {
    await browser.close();
    await server.close();
  }
}
