// Device failures made loud. WebGPU reports errors asynchronously: a failed command buffer simply
// does nothing (a loss read back from it is 0), so every device call that can fail is wrapped in
// error scopes (validation, out-of-memory, internal), and the popped scopes are checked at the next
// natural sync point (a read, or `check()` before anything is written), never with a readback of
// their own. Device loss and errors outside any scope are recorded the same way. The first one
// becomes a DeviceError naming what was running (the kernel, buffer or step, from our labels), and
// every later use of the device throws it again: nothing computed after it is trusted.
import { UserError } from '../../compiler/errors.ts';

export type DeviceErrorKind = 'validation' | 'out-of-memory' | 'internal' | 'lost';

/** A WebGPU error or device loss: the command stops with a nonzero exit and writes nothing as if good. */
export class DeviceError extends UserError {
  constructor(
    readonly kind: DeviceErrorKind,
    /** What was running: "step 12 of program ..." or "creating kernel matmul:...". */
    readonly during: string,
    /** The driver's message (it names our labels: kernels by pipeline key, buffers by tensor). */
    readonly detail: string,
  ) {
    const what = kind === 'lost' ? 'GPU device lost' : `GPU ${kind} error`;
    super(`${what} while ${during}: ${detail.trim().replace(/\s*\n\s*/g, '; ')}; stopped, nothing written from this run`);
    this.name = 'DeviceError';
  }
}

const SCOPES: GPUErrorFilter[] = ['validation', 'out-of-memory', 'internal'];

interface Pending {
  during: string;
  errors: Promise<(GPUError | null)[]>;
}

function kindOf(error: GPUError): DeviceErrorKind {
  const name = error.constructor?.name ?? '';
  if (name.includes('OutOfMemory')) return 'out-of-memory';
  if (name.includes('Internal')) return 'internal';
  return 'validation';
}

/** Watches one device: scopes around work, loss, uncaptured errors; `check()` turns them into a DeviceError. */
export class DeviceWatch {
  private pending: Pending[] = [];
  private failure: DeviceError | undefined;
  private destroyed = false;

  constructor(readonly device: GPUDevice) {
    void device.lost.then((info) => {
      // destroy() by us is not a failure.
      if (this.destroyed || info.reason === 'destroyed') return;
      this.fail(new DeviceError('lost', 'running', info.message || String(info.reason)));
    });
    device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      this.fail(new DeviceError(kindOf(error), 'running (outside any checked call)', error.message));
    });
  }

  /** The first failure seen (a later error is usually a consequence of it). */
  private fail(e: DeviceError): void {
    this.failure ??= e;
  }

  /**
   * Runs `work` (device calls that do not wait) inside validation, out-of-memory and internal error
   * scopes; their result is checked by the next check(). `during` names the work for the message.
   */
  scoped<T>(during: string, work: () => T): T {
    this.throwIfFailed();
    for (const f of SCOPES) this.device.pushErrorScope(f);
    let result: T;
    try {
      result = work();
    } finally {
      // Scopes pop in reverse order: internal, out-of-memory, validation.
      const popped = SCOPES.map(() => this.device.popErrorScope());
      this.pending.push({ during, errors: Promise.all(popped) });
    }
    return result;
  }

  /** Like scoped() for work that awaits (pipeline creation): checked before it returns. */
  async scopedAsync<T>(during: string, work: () => Promise<T>): Promise<T> {
    this.throwIfFailed();
    for (const f of SCOPES) this.device.pushErrorScope(f);
    let result: T | undefined;
    let thrown: unknown;
    try {
      result = await work();
    } catch (err) {
      thrown = err;
    }
    const errors = await Promise.all(SCOPES.map(() => this.device.popErrorScope()));
    const e = errors.find((x): x is GPUError => x !== null);
    if (e) this.fail(new DeviceError(kindOf(e), during, e.message));
    this.throwIfFailed();
    if (thrown !== undefined) throw thrown;
    return result as T;
  }

  /** Throws the recorded failure, if any, without waiting. */
  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /**
   * Waits for every scope popped so far and throws a DeviceError for the first error among them (or
   * a loss or uncaptured error). Call it where the program waits anyway (a read) and before writing
   * anything computed on the device.
   */
  async check(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) {
      let errors: (GPUError | null)[];
      try {
        errors = await p.errors;
      } catch (err) {
        // popErrorScope rejects only when the device is lost.
        this.fail(new DeviceError('lost', p.during, (err as Error).message));
        break;
      }
      const e = errors.find((x): x is GPUError => x !== null);
      if (e) {
        this.fail(new DeviceError(kindOf(e), p.during, e.message));
        break;
      }
    }
    this.throwIfFailed();
  }

  /** The device is being destroyed on purpose: its loss is no error. */
  markDestroyed(): void {
    this.destroyed = true;
  }
}

const watches = new WeakMap<GPUDevice, DeviceWatch>();

/** The one watch of a device (created by createGpu; created here for devices made elsewhere). */
export function watchOf(device: GPUDevice): DeviceWatch {
  let w = watches.get(device);
  if (!w) watches.set(device, (w = new DeviceWatch(device)));
  return w;
}
