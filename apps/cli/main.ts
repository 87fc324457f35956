// The `rankfold` command line. Each subcommand lives in its own file under ./commands and
// registers itself on the shared commander program; this file only wires them together and
// turns expected failures (UserError) into one-line messages instead of stack traces.
import { Command, CommanderError } from 'commander';
import { UserError } from '../../compiler/errors.ts';
import { commands } from './commands/index.ts';
import { describeIoError, isErrno } from '../../runtime/io/fs-errors.ts';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('rankfold')
    .description('LoRA fine-tuning on any GPU: check, compile, train, merge and run model specs')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run rankfold --help for usage)');
  let exitCode = 0;
  for (const register of commands) {
    register(program, (code) => {
      exitCode = code;
    });
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof UserError) {
      process.stderr.write(`rankfold: ${err.message}\n`);
      return err.exitCode;
    }
    // A file-system failure no reader or writer put in words (a bug of ours, but the user's disk
    // state is the cause): one line naming the path, not a stack trace.
    if (isErrno(err) && err.path) {
      const action = err.syscall === 'open' || err.syscall === 'read' || err.syscall === 'scandir' || err.syscall === 'stat' ? 'read' : 'write';
      process.stderr.write(`rankfold: ${describeIoError(err, err.path, action)}\n`);
      return 1;
    }
    throw err;
  }
}
