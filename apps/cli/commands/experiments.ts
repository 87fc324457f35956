import type { RegisterCommand } from './command.ts';
import { rewriteReport, runExperiments } from '../../experiments/run.ts';

/** `rankfold experiments [--quick] --out DIR`: the LoRA paper's claims, measured, as DIR/report.md. */
export const registerExperiments: RegisterCommand = (program) => {
  program
    .command('experiments')
    .description("measure the LoRA paper's claims (memory, size, speed, rank, which weights, subspaces, merging) and write a report")
    .requiredOption('--out <dir>', 'output folder: report.md, results.json, SVG figures, the cached base model, checkpoints/, finished runs in runs/ (the same command again resumes an interrupted run)')
    .option('--quick', 'one seed, one task, fewer steps and configurations (under 10 minutes on a CPU Vulkan driver)')
    .option('--report-only', 'rewrite report.md and the figures from DIR/results.json without running anything')
    .action(async (opts: { out: string; quick?: boolean; reportOnly?: boolean }) => {
      if (opts.reportOnly) {
        const files = await rewriteReport(opts.out);
        console.log(`wrote ${files.length} file(s) to ${opts.out}`);
        return;
      }
      await runExperiments({ quick: !!opts.quick, out: opts.out });
    });
};
