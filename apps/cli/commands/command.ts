// The shape of a subcommand module: each file under commands/ exports one RegisterCommand, and
// index.ts lists them (kept apart from index.ts so the commands never import their own index).
import type { Command } from 'commander';

/** Registers one subcommand; setExitCode lets an action report failure without throwing. */
export type RegisterCommand = (program: Command, setExitCode: (code: number) => void) => void;
