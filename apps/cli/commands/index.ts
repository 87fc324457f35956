import type { RegisterCommand } from './command.ts';
import { registerCheck } from './check.ts';
import { registerCombine } from './combine.ts';
import { registerCompile } from './compile.ts';
import { registerDemo } from './demo.ts';
import { registerDoctor } from './doctor.ts';
import { registerExperiments } from './experiments.ts';
import { registerGenerate } from './generate.ts';
import { registerInspect } from './inspect.ts';
import { registerMerge } from './merge.ts';
import { registerServe } from './serve.ts';
import { registerTrain } from './train.ts';
import { registerUnmerge } from './unmerge.ts';
import { registerVerify } from './verify.ts';

// In the order `rankfold --help` lists them.
export const commands: RegisterCommand[] = [
  registerDemo,
  registerCheck,
  registerCompile,
  registerTrain,
  registerMerge,
  registerUnmerge,
  registerCombine,
  registerGenerate,
  registerServe,
  registerInspect,
  registerExperiments,
  registerVerify,
  registerDoctor,
];
