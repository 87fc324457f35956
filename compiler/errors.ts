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
