import { formatDiagnostics, type Diagnostic } from './language/diagnostics.ts';
import type { Source } from './language/source.ts';

/**
 * An error caused by the user's input (a bad file, a missing adapter, a wrong flag) rather than
 * by a bug. The CLI prints its message alone, without a stack trace, and exits with exitCode.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * A parser's message on one line: V8's JSON.parse quotes the text around the error, newlines
 * included, and a UserError is printed as one line.
 */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ');
}

/**
 * A spec that does not compile: its diagnostics, and a message that formats them as `rankfold check`
 * does (file:line:col, the source line, a caret), so that the CLI prints it as is.
 */
export class CompileError extends UserError {
  constructor(
    readonly diagnostics: readonly Diagnostic[],
    readonly source: Source,
  ) {
    super(formatDiagnostics(diagnostics, source).trimEnd());
    this.name = 'CompileError';
  }
}

/** "134,217,728 bytes (128 MiB)": sizes in messages about device limits. */
export function formatBytes(n: number): string {
  const mib = n / 2 ** 20;
  const human = mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB` : mib >= 1 ? `${mib.toFixed(mib >= 100 ? 0 : 1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
  return `${n.toLocaleString('en-US')} bytes (${human})`;
}

/**
 * A tensor or buffer the target device cannot hold in one binding or buffer, found by the compiler
 * (nothing has run, nothing is written): names the tensor, its size and the limit.
 */
export class DeviceLimitError extends UserError {
  constructor(
    /** The tensor (parameter name, or the value's label) or buffer that does not fit. */
    readonly tensor: string,
    readonly bytes: number,
    /** The WebGPU limit's name (maxStorageBufferBindingSize, maxBufferSize). */
    readonly limitName: string,
    readonly limit: number,
    hint: string,
    unit: 'bytes' | 'workgroups' = 'bytes',
  ) {
    const amount = (n: number) => (unit === 'bytes' ? formatBytes(n) : `${n.toLocaleString('en-US')} workgroups`);
    super(`${tensor} needs ${amount(bytes)}, more than the device's ${limitName} of ${amount(limit)}${hint ? `: ${hint}` : ''}`);
    this.name = 'DeviceLimitError';
  }
}
