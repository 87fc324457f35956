// Rankfold side of the reverse trip (see README.md): load the adapter PEFT made (peft_make.py), run
// it, and merge it; both must give PEFT's logits. Exits 1 if either differs by 1e-4 or more.
import { loadSpec, readConfigJson, compile, createExecutor, setWeights, readBaseWeights, readSafetensorsFile, readAdapterDir, applyPeftConfig, adapterWeights, mergeAdapter, feedTokens } from '../../runtime/index.ts';
import type { CheckedModel, WeightMap } from '../../runtime/index.ts';
const [caseDir, spec, out] = process.argv.slice(2) as [string, string, string];
const specModel = loadSpec(spec, { config: readConfigJson(`${caseDir}/config.json`) });
const base = readBaseWeights(specModel, readSafetensorsFile(`${caseDir}/model.safetensors`));
const adapter = readAdapterDir(`${out}/adapter`);
const model = applyPeftConfig(specModel, adapter.config, `${out}/adapter`);
const ref = readSafetensorsFile(`${out}/peft.safetensors`);
const ids = ref.getInt32('input_ids');
async function logits(m: CheckedModel, weights: WeightMap[]): Promise<Float32Array> {
  const exec = await createExecutor(compile(m, { mode: 'eval', batch: 2, seq: 12 }), { backend: 'interp' });
  for (const w of weights) setWeights(exec, w);
  feedTokens(exec, ids, 2, 12, ids);
  exec.run();
  return (await exec.read('logits')) as Float32Array;
}
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a, (x, i) => Math.abs(x - b[i]!)).reduce((m, x) => Math.max(m, x), 0);
const adapted = maxDiff(await logits(model, [base, adapterWeights(model, adapter, `${out}/adapter`, { base })]), ref.getFloat32('logits'));
const m = mergeAdapter(specModel, base, adapter, `${out}/adapter`);
const merged = maxDiff(await logits(m.plain, [m.weights]), ref.getFloat32('logits_merged'));
console.log(`${caseDir.split('/').pop()}: PEFT's adapter loaded (${adapter.tensors.size} modules, ${adapter.others.size} base tensors); max |logits diff| adapted ${adapted.toExponential(2)}, merged ${merged.toExponential(2)}`);
process.exit(adapted < 1e-4 && merged < 1e-4 ? 0 : 1);
