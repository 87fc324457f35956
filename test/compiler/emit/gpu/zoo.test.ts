// Every kernel of the IR compiled by Dawn and run in one program (the codegen zoo graph, which uses
// each op once), compared with the interpreter in f64 on its outputs. Per-kernel accuracy is tested
// op by op elsewhere; this catches WGSL that only fails to validate in some combination, and the
// executor's handling of in-place ops (cache_update, adamw) inside one submit.
import { describe, expect } from 'vitest';
import { gpuTest } from '../../../helpers/gpu.ts';
import { expectClose, gpuProgram, rand, randInt } from './op-harness.ts';
import { opZoo } from '../zoo.ts';
import { interpret } from '../../../../compiler/ir/interp.ts';
import { numel } from '../../../../compiler/ir/types.ts';

describe('op zoo', () => {
  gpuTest('every kernel compiles and the zoo graph matches the interpreter', async (gpu) => {
    const graph = opZoo();
    const inputs = { ids: randInt(10, 1, 11), labels: randInt(10, 2, 11), step: Int32Array.of(5), offset: Int32Array.of(2), adapter_index: Int32Array.of(1, -1), optim: Float32Array.of(0.01, 0.1, 0.001, 0) };
    const params: Record<string, Float32Array> = {};
    const state: Record<string, Float32Array> = {};
    graph.nodes.forEach((n, i) => {
      const a = n.attrs as { name: string };
      if (n.op === 'param') params[a.name] = rand(numel(n.type.shape), 10 + i, -0.5, 0.5);
      if (n.op === 'state') state[a.name] = rand(numel(n.type.shape), 10 + i, 0, 0.1);
    });
    const f64 = (r: Record<string, Float32Array>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float64Array.from(v)]));
    const ref = interpret(graph, { inputs, params: f64(params), state: f64(state) }, { precision: 'f64' });
    for (const plan of [false, true]) {
      const program = await gpuProgram(gpu, graph, { reuseBuffers: plan });
      for (const [k, v] of Object.entries(inputs)) program.setInput(k, v);
      for (const [k, v] of Object.entries(params)) program.setParam(k, v);
      for (const [k, v] of Object.entries(state)) program.setState(k, v);
      program.run();
      for (const name of Object.keys(graph.outputs)) {
        expectClose(await program.read(name), ref.outputs[name]!, { rtol: 1e-3, atol: 1e-4 }, `zoo ${name} (plan ${plan})`);
      }
      expect(program.stats.pipelinesCreatedLastRun).toBe(0);
      program.destroy();
    }
  });
});
