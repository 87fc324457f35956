import type { RegisterCommand } from './command.ts';
import { describePath } from '../../../runtime/report/inspect.ts';

/** `rankfold inspect FILE`: the tensors of a safetensors file, or an adapter directory's config and modules. */
export const registerInspect: RegisterCommand = (program) => {
  program
    .command('inspect')
    .description('list the tensors of a .safetensors file, or summarize a PEFT adapter directory')
    .argument('<path>', 'a .safetensors file or an adapter directory')
    .action((target: string) => {
      console.log(describePath(target));
    });
};
