// The pass pipeline, in order. Each pass is a named (graph) => graph rewrite; `verify` (on in tests)
// runs the IR verifier after every pass so a broken rewrite is caught where it happens.
import type { Graph } from '../ir/types.ts';
import { verifyGraph } from '../ir/verify.ts';
import { cse } from './cse.ts';
import { dce } from './dce.ts';
import { fuseElementwise } from './fuse-elementwise.ts';
import { fuseLowrank } from './fuse-lowrank.ts';
import { recomputeBlocks, type RecomputeMode } from './recompute.ts';
import type { Pass } from './rewrite.ts';
import { storagePass, type ParamDtypes } from './storage.ts';
import { isHalf } from '../ir/types.ts';

export interface NamedPass {
  name: string;
  run: Pass;
}

export const passes = {
  dce: { name: 'dce', run: dce },
  cse: { name: 'cse', run: cse },
  fuseLowrank: { name: 'fuse-lowrank', run: fuseLowrank },
  fuseElementwise: { name: 'fuse-elementwise', run: fuseElementwise },
  recompute: { name: 'recompute', run: recomputeBlocks },
} satisfies Record<string, NamedPass>;

export interface PipelineOptions {
  fuse: boolean;
  /** 'blocks': block recompute after the fusions (CSE would merge the recomputed copies back). */
  recompute?: RecomputeMode;
  /** The base weights' file dtypes: 16-bit ones add the storage pass (last, so fusion never sees a cast). */
  paramDtypes?: ParamDtypes;
}

/**
 * dce, cse, then (with fuse) fuse-lowrank, fuse-elementwise, and a final dce for what they replaced;
 * then block recompute when asked; then, when some base weight is stored 16-bit, the storage pass.
 */
export function pipelinePasses(options: PipelineOptions): NamedPass[] {
  const list: NamedPass[] = [passes.dce, passes.cse];
  if (options.fuse) list.push(passes.fuseLowrank, passes.fuseElementwise, passes.dce);
  if (options.recompute === 'blocks') list.push(passes.recompute);
  const dtypes = options.paramDtypes;
  if (dtypes && Object.values(dtypes).some(isHalf)) list.push({ name: 'storage', run: storagePass(dtypes) });
  return list;
}

export function pipeline(graph: Graph, options: PipelineOptions & { verify?: boolean; trace?: (name: string, g: Graph) => void }): Graph {
  let g = graph;
  for (const p of pipelinePasses(options)) {
    g = p.run(g);
    if (options.verify) {
      try {
        verifyGraph(g);
      } catch (e) {
        throw new Error(`after pass ${p.name}: ${(e as Error).message}`);
      }
    }
    options.trace?.(p.name, g);
  }
  return g;
}
