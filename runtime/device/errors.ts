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
    const clean = cleanMessage(detail);
    const kernel = kernelIn(clean);
    super(`${what}${kernel ? ` in kernel ${kernel}` : ''} while ${during}: ${clean}; stopped, nothing written from this run`);
    this.name = 'DeviceError';
    this.kernel = kernel;
  }

  /** The kernel (pipeline key and node) a dispatch error names, from the debug group GpuProgram pushes around each dispatch. */
  readonly kernel: string | undefined;
}

/** The driver's message on one line, without the NUL bytes Dawn leaves in debug-group names. */
function cleanMessage(detail: string): string {
  // eslint-disable-next-line no-control-regex
  return detail.replace(/[\u0000-\u0008\u000b-\u001f]/g, '').trim().replace(/\s*\n\s*/g, '; ');
}

/** The innermost debug group of a Dawn message: GpuProgram names each dispatch "<key> %<node> <label>". */
function kernelIn(message: string): string | undefined {
  const stack = /Debug group stack:(.*)$/.exec(message)?.[1];
  const groups = stack ? [...stack.matchAll(/"([^"]+)"/g)].map((m) => m[1]!) : [];
  return groups[groups.length - 1];
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

/**
 * Watches one device for what concerns every program on it: device loss and errors raised outside
 * any scope. Both are final: every later check of any program on the device throws them.
 */
export class DeviceWatch {
  private failure: DeviceError | undefined;
  private destroyed = false;

  constructor(readonly device: GPUDevice) {
    void device.lost.then((info) => {
      // A device the program itself is done with (markDestroyed) is no failure.
      if (this.destroyed) return;
      const why = info.reason === 'destroyed' ? 'the device was destroyed' : info.message || String(info.reason);
      this.fail(new DeviceError('lost', 'running', why));
    });
    device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      this.fail(new DeviceError(kindOf(error), 'running (outside any checked call)', error.message));
    });
  }

  fail(e: DeviceError): void {
    this.failure ??= e;
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** The device is being destroyed on purpose: its loss is no error. */
  markDestroyed(): void {
    this.destroyed = true;
  }
}

/**
 * The error scopes of one program's work (creation, runs, reads). Each call wraps its device calls
 * in validation, out-of-memory and internal scopes; the popped scopes are checked at the next
 * check() (which reads call), so no run waits for its own result. A program's first error is final
 * for that program: every later check throws it again.
 */
export class ScopedWork {
  private pending: Pending[] = [];
  private failure: DeviceError | undefined;

  constructor(readonly watch: DeviceWatch) {}

  private get device(): GPUDevice {
    return this.watch.device;
  }

  private fail(e: DeviceError): void {
    this.failure ??= e;
  }

  /** Runs `work` (device calls that do not wait) inside the scopes; checked by the next check(). */
  scoped<T>(during: string, work: () => T): T {
    this.throwIfFailed();
    for (const f of SCOPES) this.device.pushErrorScope(f);
    try {
      return work();
    } finally {
      const popped = SCOPES.map(() => this.device.popErrorScope());
      this.pending.push({ during, errors: Promise.all(popped) });
    }
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
    // A DeviceError of the work itself (a kernel that does not compile) names more than its scope.
    if (thrown instanceof DeviceError) this.fail(thrown);
    const e = errors.find((x): x is GPUError => x !== null);
    if (e) this.fail(new DeviceError(kindOf(e), during, e.message));
    this.throwIfFailed();
    if (thrown !== undefined) throw thrown;
    return result as T;
  }

  /** Throws this program's or the device's failure, if any, without waiting. */
  throwIfFailed(): void {
    if (this.failure) throw this.failure;
    this.watch.throwIfFailed();
  }

  /**
   * Waits for every scope popped so far and throws a DeviceError for the first error among them (or
   * the device's loss or an uncaptured error). Call it where the program waits anyway (a read) and
   * before writing anything computed on the device.
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
}

const watches = new WeakMap<GPUDevice, DeviceWatch>();

/** The one watch of a device (created by createGpu; created here for devices made elsewhere). */
export function watchOf(device: GPUDevice): DeviceWatch {
  let w = watches.get(device);
  if (!w) watches.set(device, (w = new DeviceWatch(device)));
  return w;
}
