import type { Command } from 'commander';
import { registerDoctor } from './doctor.ts';
import { registerInspect } from './inspect.ts';

/** Registers one subcommand; setExitCode lets an action report failure without throwing. */
export type RegisterCommand = (program: Command, setExitCode: (code: number) => void) => void;

// One line per subcommand, in the order `rankfold --help` lists them.
export const commands: RegisterCommand[] = [registerDoctor, registerInspect];
