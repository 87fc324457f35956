// Driving the built playground in headless Chromium (Node only): the browser test and the browser
// bench share this. Debian's chromium (/usr/bin/chromium, scripts/install-chromium.sh) through
// puppeteer-core: no browser is downloaded. WebGPU comes from one of two CPU adapters:
//   swiftshader  Chromium's own Vulkan-on-CPU adapter (--enable-unsafe-webgpu). The default: it
//                compiles pipelines quickly and trains the char GPT at about a step per second.
//   lavapipe     Mesa's CPU Vulkan driver through ANGLE's OpenGL ES backend, a compatibility-mode
//                adapter. It works, but compiling each pipeline through GL takes seconds: a
//                five-step run took 83 s against SwiftShader's 6 s here.
import * as fs from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export type BrowserAdapter = 'swiftshader' | 'lavapipe';
export const BROWSER_ADAPTERS: readonly BrowserAdapter[] = ['swiftshader', 'lavapipe'];
const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';

export function browserAdapter(): BrowserAdapter {
  const v = process.env.RANKFOLD_BROWSER_ADAPTER ?? 'swiftshader';
  if (!(BROWSER_ADAPTERS as readonly string[]).includes(v)) throw new Error(`RANKFOLD_BROWSER_ADAPTER must be ${BROWSER_ADAPTERS.join(' or ')}, got "${v}"`);
  return v as BrowserAdapter;
}

/** Why Chromium cannot run here, or undefined when it can. */
export function chromiumMissing(): string | undefined {
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (bash scripts/install-chromium.sh, or set CHROMIUM_PATH)`;
  return undefined;
}

export async function launchChromium(adapter: BrowserAdapter, downloads?: string): Promise<Browser> {
  const args = ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-dev-shm-usage'];
  const env: Record<string, string | undefined> = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
  if (adapter === 'lavapipe') {
    args.push('--use-angle=vulkan', '--use-webgpu-adapter=opengles');
    env.VK_ICD_FILENAMES = LAVAPIPE_ICD;
  }
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args, env: env as Record<string, string>, protocolTimeout: 600_000 });
  if (downloads) {
    const session = await browser.target().createCDPSession();
    await session.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads, eventsEnabled: true });
  }
  return browser;
}

export interface OpenedPage {
  page: Page;
  /** Uncaught exceptions and console errors of the page, as they happen. */
  errors: string[];
  adapterName: string;
}

/** Opens the playground at url and waits until it has looked for its adapter and loaded its base model. */
export async function openPlayground(browser: Browser, url: string): Promise<OpenedPage> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${(e as Error).message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console error: ${m.text()}`);
  });
  await page.setViewport({ width: 1400, height: 1000 });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
  const adapterName = await page.$eval('#gpu-status', (e) => (e as HTMLElement).dataset.adapter ?? '');
  return { page, errors, adapterName };
}

/** Waits for the training view to finish (or fail) and returns its status text. */
export async function waitTrained(page: Page, timeoutMs: number): Promise<{ state: string; text: string; firstLoss: number; lastLoss: number }> {
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('train-status')!.dataset.state ?? ''), { timeout: timeoutMs, polling: 250 });
  return page.$eval('#train-status', (e) => {
    const d = (e as HTMLElement).dataset;
    return { state: d.state!, text: e.textContent ?? '', firstLoss: Number(d.firstLoss), lastLoss: Number(d.lastLoss) };
  });
}
