// Training progress (Node only): a cli-progress bar with loss, tokens/s and ETA on a terminal, and
// plain periodic lines when stdout is a file or CI log, where a redrawn bar would be noise.
import cliProgress from 'cli-progress';

export interface ProgressStats {
  loss?: number;
  /** Tokens processed since the start (tokens/s is computed from it). */
  tokens?: number;
}

export interface ProgressOptions {
  total: number;
  /** Step to start from (a resumed run); rates count only steps done in this process. */
  start?: number;
  label?: string;
  stream?: NodeJS.WriteStream;
  /** Force bar (true) or plain lines (false); default: whether the stream is a TTY. */
  tty?: boolean;
  /** Plain mode: at most one line per this many ms (default 10 s); the first and last steps always print. */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class TrainingProgress {
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly stream: NodeJS.WriteStream;
  private readonly now: () => number;
  private readonly t0: number;
  private readonly start: number;
  private readonly interval: number;
  private lastLine = -Infinity;
  private printedStep = -1;
  private step: number;
  private stats: ProgressStats = {};

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stdout;
    this.now = opts.now ?? (() => Date.now());
    this.t0 = this.now();
    this.start = opts.start ?? 0;
    this.step = this.start;
    this.interval = opts.intervalMs ?? 10_000;
    if (opts.tty ?? this.stream.isTTY === true) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${opts.label ?? 'train'} [{bar}] {value}/{total} | loss {loss} | {tps} tok/s | ETA {eta_text}`,
          stream: this.stream,
          hideCursor: true,
          // cli-progress stays silent on a non-TTY stream unless told otherwise; tty: true means draw.
          noTTYOutput: true,
          barsize: 24,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(opts.total, this.start, this.payload());
    }
  }

  private rates(): { tps: number; eta: number } {
    const secs = (this.now() - this.t0) / 1000;
    const done = this.step - this.start;
    const tps = secs > 0 && this.stats.tokens !== undefined ? this.stats.tokens / secs : NaN;
    const eta = done > 0 ? ((this.opts.total - this.step) * secs) / done : NaN;
    return { tps, eta };
  }

  private payload(): Record<string, string> {
    const { tps, eta } = this.rates();
    return {
      loss: this.stats.loss === undefined ? '-' : this.stats.loss.toFixed(4),
      tps: Number.isFinite(tps) ? Math.round(tps).toString() : '-',
      eta_text: formatDuration(eta),
    };
  }

  /** The plain-mode line for the current state. */
  line(): string {
    const p = this.payload();
    const pct = this.opts.total > 0 ? Math.floor((100 * this.step) / this.opts.total) : 100;
    return `${this.opts.label ?? 'train'} step ${this.step}/${this.opts.total} (${pct}%) loss ${p.loss} | ${p.tps} tok/s | ETA ${p.eta_text}`;
  }

  update(step: number, stats: ProgressStats = {}): void {
    this.step = step;
    this.stats = { ...this.stats, ...stats };
    if (this.bar) {
      this.bar.update(step, this.payload());
      return;
    }
    const t = this.now();
    if (t - this.lastLine >= this.interval || step >= this.opts.total || this.lastLine === -Infinity) {
      this.lastLine = t;
      this.printedStep = step;
      this.stream.write(this.line() + '\n');
    }
  }

  /** A message that must not be overwritten by the bar (an eval result, a checkpoint saved). */
  log(message: string): void {
    if (this.bar) {
      this.stream.write('\r\x1b[2K' + message + '\n');
      this.bar.update(this.step, this.payload());
    } else {
      this.stream.write(message + '\n');
    }
  }

  stop(): void {
    if (this.bar) this.bar.stop();
    else if (this.printedStep !== this.step) this.stream.write(this.line() + '\n');
  }
}
