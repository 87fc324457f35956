// One generation request inside the engine: its prompt and sampling settings, where it is (waiting,
// prefilling, decoding), its KV-cache row and adapter slot, the tokens it produced, and the text
// streamed so far (detokenized incrementally, held back around stop strings).
import { UserError } from '../../compiler/errors.ts';
import { Rng } from '../data/rng.ts';
import { StreamDecoder } from '../data/detokenize.ts';
import type { Tokenizer } from '../data/tokenizer.ts';
import { stopIdsOf } from '../data/tokenizer.ts';
import { checkSamplingOptions } from '../generate/sampling.ts';
import { StopStrings } from './stop-strings.ts';

export interface GenerationRequest {
  /** Prompt token ids (special tokens such as BOS already in place). */
  prompt: readonly number[];
  /** Adapter name, or undefined for the base model alone. */
  adapter?: string;
  /** Most tokens to generate. */
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** Nucleus mass (1 = off). */
  topP: number;
  /** Sampling seed (default: the request's own id). */
  seed?: number;
  /** Stop strings: the text ends before the first one, which is left out. */
  stop?: readonly string[];
  /** Aborts the request (client gone, timeout, shutdown); `signal.reason` says why. */
  signal?: AbortSignal;
  /** Called with each piece of final text as it is produced (streaming). */
  onText?: (delta: string) => void;
}

/** 'abort': the signal fired (see abortReason); the text is what was produced until then. */
export type FinishReason = 'stop' | 'length' | 'abort';

export interface GenerationResult {
  text: string;
  tokens: number[];
  finishReason: FinishReason;
  /** The signal's reason when finishReason is 'abort'. */
  abortReason?: unknown;
  promptTokens: number;
  completionTokens: number;
}

export type Phase = 'waiting' | 'prefill' | 'decode' | 'done';

export class Sequence {
  phase: Phase = 'waiting';
  /** Row of the decoding batch (and of its KV cache) once admitted. */
  row = -1;
  /** Adapter slot (-1: base only), held from submit to finish. */
  adapterSlot = -1;
  /** Positions written by prefill chunks. */
  prefilled = 0;
  /** Next position the decoding graph is fed (tokens[pos]). */
  pos = 0;
  readonly tokens: number[];
  readonly generated: number[] = [];
  private text = '';
  private readonly decoder: StreamDecoder;
  private readonly stops: StopStrings;
  private readonly stopIds: ReadonlySet<number>;
  readonly rng: Rng;
  readonly done: Promise<GenerationResult>;
  private resolve!: (r: GenerationResult) => void;
  private reject!: (e: unknown) => void;

  constructor(
    readonly id: number,
    readonly req: GenerationRequest,
    tok: Tokenizer,
  ) {
    if (req.prompt.length === 0) throw new UserError('the prompt is empty');
    if (!(Number.isInteger(req.maxTokens) && req.maxTokens >= 1)) throw new UserError(`max_tokens must be a positive integer, got ${req.maxTokens}`);
    checkSamplingOptions({ temperature: req.temperature, topP: req.topP });
    this.tokens = [...req.prompt];
    this.decoder = new StreamDecoder(tok, { skipSpecialTokens: true });
    this.stops = new StopStrings(req.stop ?? []);
    this.stopIds = new Set(stopIdsOf(tok));
    this.rng = new Rng(req.seed ?? id);
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  get promptLength(): number {
    return this.req.prompt.length;
  }

  get aborted(): boolean {
    return this.req.signal?.aborted ?? false;
  }

  /**
   * Takes a sampled token; returns the finish reason when it ends the sequence. A stop id ends it
   * without adding text, a stop string ends it before the string.
   */
  accept(token: number): FinishReason | undefined {
    this.generated.push(token);
    this.tokens.push(token);
    if (this.stopIds.has(token)) return 'stop';
    this.emit(this.stops.push(this.decoder.push(token)));
    if (this.stops.hit) return 'stop';
    if (this.generated.length >= this.req.maxTokens) return 'length';
    return undefined;
  }

  private emit(delta: string): void {
    if (delta === '') return;
    this.text += delta;
    this.req.onText?.(delta);
  }

  /** Ends the sequence; an abort's reason is the signal's, or `abortReason` when the engine aborts it (shutdown). */
  finish(reason: FinishReason, abortReason?: unknown): void {
    if (this.phase === 'done') return;
    // What the decoder and the stop matcher still hold is final text, unless a stop string cut it.
    const tail = this.stops.hit ? '' : this.stops.push(this.decoder.flush()) + this.stops.flush();
    this.phase = 'done';
    this.emit(tail);
    const result: GenerationResult = {
      text: this.text,
      tokens: [...this.generated],
      finishReason: reason,
      promptTokens: this.promptLength,
      completionTokens: this.generated.length,
    };
    if (reason === 'abort') result.abortReason = abortReason ?? this.req.signal?.reason;
    this.resolve(result);
  }

  fail(err: unknown): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.reject(err);
  }
}
