// Rankfold side of the PEFT round trip (see README.md): train briefly with the spec's adapters, or
// with PEFT options given as JSON (e.g. '{"target_modules": ["embed_tokens", "q_proj"],
// "modules_to_save": ["lm_head"]}'), save the adapter as PEFT does, and dump the logits.
import { loadSpec, readConfigJson, compile, createExecutor, setWeights, initAdapterWeights, readBaseWeights, readSafetensorsFile, writeSafetensorsFile, writeAdapterDir, readAdapterFromExecutor, BatchLoader, trainLoop, feedTokens, applyPeftConfig, makePeftConfig, peftConfigFor, adapterWeights } from '../../runtime/index.ts';
import { Rng } from '../../runtime/data/rng.ts';
const [caseDir, spec, out, options] = process.argv.slice(2) as [string, string, string, string | undefined];
const config = readConfigJson(`${caseDir}/config.json`);
const specModel = loadSpec(spec, { config });
const peft = options ? makePeftConfig({ r: 4, lora_alpha: 8, ...JSON.parse(options) }) : peftConfigFor(specModel);
const model = applyPeftConfig(specModel, peft, 'options', { training: true });
const base = readBaseWeights(model, readSafetensorsFile(`${caseDir}/model.safetensors`));
const vocab = Number(model.params['vocab']);
const rng = new Rng(1);
const ids = Int32Array.from({ length: 32 * 12 }, () => rng.int(vocab));
const adamw = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
const exec = await createExecutor(compile(model, { mode: 'train', batch: 4, seq: 12, adamw }), { backend: 'interp' });
setWeights(exec, base);
setWeights(exec, initAdapterWeights(model, base, 3));
await trainLoop(exec, new BatchLoader({ count: 32, seqLen: 12, ids, labels: ids.slice() }, { batchSize: 4, seed: 0 }), { steps: 20, schedule: { kind: 'constant', lr: 0.01, warmupSteps: 0, totalSteps: 20 }, adamw, logEvery: 20, evalEvery: 0 });
const adapter = await readAdapterFromExecutor(exec, model, peft);
writeAdapterDir(`${out}/adapter`, adapter);
const evalExec = await createExecutor(compile(model, { mode: 'eval', batch: 2, seq: 12 }), { backend: 'interp' });
setWeights(evalExec, base);
setWeights(evalExec, adapterWeights(model, adapter, `${out}/adapter`, { base }));
const x = ids.slice(0, 24);
feedTokens(evalExec, x, 2, 12, x);
evalExec.run();
const logits = (await evalExec.read('logits')) as Float32Array;
writeSafetensorsFile(`${out}/ours.safetensors`, { input_ids: { shape: [2, 12], data: x }, logits: { shape: [2, 12, vocab], data: logits } });
console.log('saved', adapter.tensors.size, 'modules and', adapter.others.size, 'base tensors');
