// Training and answers: trains the adapter of the spec in the editor on the shipped base model,
// with a progress bar and a live loss curve; shows the frozen base's answers beside the adapter's
// and the merged model's; downloads the adapter (PEFT files) and loads one from disk.
import {
  ADAPTER_CONFIG_NAME,
  ADAPTER_WEIGHTS_NAME,
  DEFAULT_SETTINGS,
  TASK,
  adapterFiles,
  adapterFromFiles,
  adapterToWeights,
  answer,
  baseFromBytes,
  beforeWeights,
  lossChartSvg,
  mergedModel,
  sampleExamples,
  timeTrainSteps,
  trainAdapter,
  trainShape,
  type Adapter,
  type CheckedModel,
  type GpuContext,
  type Session,
  type StepInfo,
  type TrainSettings,
} from './engine.ts';
import { byId, cell, setDownload } from './dom.ts';

const SHOWN_EXAMPLES = 8;
const PLOT_EVERY_MS = 300;

function numberInput(id: string, fallback: number): number {
  const v = Number(byId<HTMLInputElement>(id).value);
  return Number.isFinite(v) ? v : fallback;
}

export class TrainView {
  private gpu: GpuContext | undefined;
  private model: CheckedModel | undefined;
  private baseBytes: Uint8Array | undefined;
  private session: Session | undefined;
  private adapter: Adapter | undefined;
  private before: string[] | undefined;
  /** The adapter's answers last shown, to compare the merged model's with. */
  private lastAfter: string[] | undefined;
  private busy = false;
  private stopRequested = false;

  private readonly status = byId('train-status');
  private readonly bar = byId('progress-bar');
  private readonly plot = byId('loss-plot');
  private readonly answersStatus = byId('answers-status');
  private readonly trainButton = byId<HTMLButtonElement>('train-button');
  private readonly stopButton = byId<HTMLButtonElement>('stop-button');
  private readonly downloads = byId('downloads');
  private readonly mergeButton = byId<HTMLButtonElement>('merge-button');
  private readonly examples = sampleExamples(SHOWN_EXAMPLES);

  constructor() {
    byId('task-line').textContent = `Task: ${TASK.description}. The base model (pretrained on generated text, shipped with the page) never saw the table; only the LoRA factors train.`;
    this.trainButton.addEventListener('click', () => void this.train());
    this.stopButton.addEventListener('click', () => (this.stopRequested = true));
    this.mergeButton.addEventListener('click', () => void this.compareMerged());
    const input = byId<HTMLInputElement>('adapter-files');
    input.addEventListener('change', () => {
      if (input.files?.length) void this.loadAdapter(input.files).finally(() => (input.value = ''));
    });
    this.renderTable();
  }

  setGpu(gpu: GpuContext | undefined): void {
    this.gpu = gpu;
    this.refresh();
  }

  setModel(model: CheckedModel | undefined): void {
    this.model = model;
    this.refresh();
  }

  setBase(bytes: Uint8Array): void {
    this.baseBytes = bytes;
    this.refresh();
  }

  private setStatus(text: string, state: string): void {
    this.status.textContent = text;
    this.status.dataset.state = state;
  }

  /** Rebuilds the session when the GPU, the spec or the base changes; says why training is off. */
  private refresh(): void {
    if (this.busy) return;
    this.session = undefined;
    let why = '';
    if (!this.gpu) why = 'Training needs WebGPU (see the top of the page).';
    else if (!this.baseBytes) why = 'Loading the base model…';
    else if (!this.model) why = 'Fix the spec to train.';
    else if (this.model.lora.length === 0) why = 'The spec has no `lora targets`: nothing to train.';
    else {
      try {
        this.session = { gpu: this.gpu, model: this.model, base: baseFromBytes(this.model, this.baseBytes) };
      } catch (err) {
        why = `The shipped base model does not fit this spec: ${(err as Error).message}`;
      }
    }
    this.trainButton.disabled = !this.session;
    if (why) this.setStatus(why, 'blocked');
    else if (this.status.dataset.state !== 'done') this.setStatus(`Ready: ${this.session!.model.counts.adapter.toLocaleString('en-US')} adapter parameters on ${this.session!.model.lora.length} projections.`, 'ready');
  }

  private settings(): TrainSettings {
    return {
      ...DEFAULT_SETTINGS,
      steps: Math.max(1, Math.min(5000, Math.round(numberInput('steps', DEFAULT_SETTINGS.steps)))),
      lr: numberInput('lr', DEFAULT_SETTINGS.lr),
      seed: Math.round(numberInput('seed', DEFAULT_SETTINGS.seed)),
      ...(this.session ? trainShape(this.session.model) : {}),
    };
  }

  private async train(): Promise<void> {
    const session = this.session;
    if (!session || this.busy) return;
    const s = this.settings();
    this.busy = true;
    this.stopRequested = false;
    this.trainButton.disabled = true;
    this.stopButton.disabled = false;
    this.downloads.hidden = true;
    this.mergeButton.disabled = true;
    this.adapter = undefined;
    this.renderTable();
    try {
      this.setStatus('Asking the frozen base model first…', 'training');
      this.before = (await answer(session.gpu, session.model, beforeWeights(session, s.seed), this.examples)).predictions;
      this.renderTable();
      const history: StepInfo[] = [];
      let lastPlot = 0;
      const start = performance.now();
      const result = await trainAdapter(session, s, async (info) => {
        history.push(info);
        const done = info.step + 1;
        const pct = (100 * done) / s.steps;
        this.bar.style.width = `${pct}%`;
        this.bar.setAttribute('aria-valuenow', pct.toFixed(0));
        const rate = done / ((performance.now() - start) / 1000);
        this.setStatus(`step ${done}/${s.steps} · loss ${info.loss.toFixed(4)} · ${rate.toFixed(1)} steps/s`, 'training');
        this.status.dataset.step = String(done);
        if (performance.now() - lastPlot > PLOT_EVERY_MS) {
          lastPlot = performance.now();
          await this.drawPlot(history);
        }
      }, () => this.stopRequested);
      await this.drawPlot(history);
      this.adapter = result.adapter;
      const secs = (performance.now() - start) / 1000;
      const first = history[0]!.loss;
      const last = history.at(-1)!.loss;
      this.status.dataset.firstLoss = String(first);
      this.status.dataset.lastLoss = String(last);
      await this.showAfter(`${result.stopped ? 'Stopped' : 'Trained'} ${history.length} steps in ${secs.toFixed(1)} s: loss ${first.toFixed(3)} → ${last.toFixed(3)}.`);
      this.setStatus(`${result.stopped ? 'Stopped' : 'Done'}: ${history.length} steps in ${secs.toFixed(1)} s, loss ${first.toFixed(3)} → ${last.toFixed(3)}.`, 'done');
    } catch (err) {
      this.setStatus(`Training failed: ${(err as Error).message}`, 'error');
      console.error(err);
    } finally {
      this.busy = false;
      this.stopButton.disabled = true;
      this.trainButton.disabled = !this.session;
    }
  }

  /** Milliseconds per training step at the page's settings (for the browser bench; see main.ts). */
  async timeSteps(warmup: number, steps: number): Promise<{ msPerStep: number; loss: number; adapter: string }> {
    const session = this.session;
    if (!session) throw new Error(this.status.textContent ?? 'not ready');
    return { ...(await timeTrainSteps(session, this.settings(), warmup, steps)), adapter: session.gpu.adapterName };
  }

  private async drawPlot(history: StepInfo[]): Promise<void> {
    this.plot.innerHTML = await lossChartSvg(history, 'LoRA training loss');
  }

  /** Answers with the current adapter, then enables download and merge. */
  private async showAfter(summary: string): Promise<void> {
    const session = this.session!;
    const after = await answer(session.gpu, session.model, [session.base, adapterToWeights(session.model, this.adapter!)], this.examples);
    this.renderTable(after.predictions);
    this.answersStatus.textContent = `${summary} Exact match on ${this.examples.length} held-out prompts: frozen base ${this.score(this.before)}, with the adapter ${this.score(after.predictions)}.`;
    this.offerDownload();
    this.mergeButton.disabled = false;
  }

  private score(predictions: string[] | undefined): string {
    if (!predictions) return '–';
    return `${predictions.filter((p, i) => p.trim() === this.expected(i)).length}/${predictions.length}`;
  }

  private expected(i: number): string {
    return this.examples[i]!.completion.trim();
  }

  private renderTable(after?: string[], merged?: string[]): void {
    const body = byId('answers-table').querySelector('tbody')!;
    body.replaceChildren(
      ...this.examples.map((ex, i) => {
        const tr = document.createElement('tr');
        const judge = (p: string | undefined) => (p === undefined ? '' : p.trim() === this.expected(i) ? 'right' : 'wrong');
        tr.append(cell(ex.prompt), cell(this.expected(i)), cell(this.before?.[i] ?? '', judge(this.before?.[i])), cell(after?.[i] ?? '', judge(after?.[i])), cell(merged?.[i] ?? '', judge(merged?.[i])));
        return tr;
      }),
    );
    this.lastAfter = after;
  }

  /**
   * The adapter's two PEFT files as download links (two links rather than one button: a page that
   * starts two downloads at once makes browsers ask about "multiple downloads").
   */
  private offerDownload(): void {
    const files = adapterFiles(this.adapter!);
    setDownload(byId<HTMLAnchorElement>('download-config'), files.config, 'application/json');
    setDownload(byId<HTMLAnchorElement>('download-weights'), files.weights, 'application/octet-stream');
    byId('download-weights').title = `${(files.weights.byteLength / 1024).toFixed(1)} KiB; load both files with PeftModel.from_pretrained or rankfold generate --adapter`;
    this.downloads.hidden = false;
  }

  private async loadAdapter(list: FileList): Promise<void> {
    const session = this.session;
    if (!session || this.busy) {
      this.answersStatus.textContent = 'Loading an adapter needs the model ready (WebGPU, the base and a valid spec).';
      return;
    }
    const files = new Map(Array.from(list).map((f) => [f.name, f]));
    const cfg = files.get(ADAPTER_CONFIG_NAME);
    const weights = files.get(ADAPTER_WEIGHTS_NAME);
    if (!cfg || !weights) {
      this.answersStatus.textContent = `Pick both ${ADAPTER_CONFIG_NAME} and ${ADAPTER_WEIGHTS_NAME} (got ${[...files.keys()].join(', ')}).`;
      return;
    }
    this.busy = true;
    try {
      this.adapter = adapterFromFiles(session.model, { config: await cfg.text(), weights: new Uint8Array(await weights.arrayBuffer()) }, weights.name);
      this.before ??= (await answer(session.gpu, session.model, beforeWeights(session, 0), this.examples)).predictions;
      await this.showAfter(`Loaded ${weights.name} (r=${this.adapter.config.r}, alpha ${this.adapter.config.lora_alpha}).`);
    } catch (err) {
      this.answersStatus.textContent = `Could not load the adapter: ${(err as Error).message}`;
    } finally {
      this.busy = false;
    }
  }

  private async compareMerged(): Promise<void> {
    const session = this.session;
    if (!session || !this.adapter || this.busy) return;
    this.busy = true;
    try {
      const merged = mergedModel(session, this.adapter);
      const answers = await answer(session.gpu, merged.model, [merged.weights], this.examples);
      const after = this.lastAfter ?? [];
      const same = answers.predictions.filter((p, i) => p === after[i]).length;
      this.renderTable(after, answers.predictions);
      this.answersStatus.textContent = `Merged model (the adapter folded into the base weights, run as a plain model): ${same}/${answers.predictions.length} answers identical to base + adapter.`;
      this.answersStatus.dataset.mergedSame = String(same === answers.predictions.length);
    } catch (err) {
      this.answersStatus.textContent = `Merging failed: ${(err as Error).message}`;
    } finally {
      this.busy = false;
    }
  }
}
