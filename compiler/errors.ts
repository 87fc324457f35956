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
