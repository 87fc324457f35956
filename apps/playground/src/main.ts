// The playground page: wires the spec editor, the GPU check, the training view and the folder
// picker. Everything it asks of Rankfold goes through engine.ts.
import { BASE_ASSET } from './engine.ts';
import { byId } from './dom.ts';
import { SpecEditor } from './editor.ts';
import { findGpu } from './gpu-status.ts';
import { wireFolderPicker } from './hf-folder.ts';
import { CHAR_GPT_SPEC } from './specs.ts';
import { TrainView } from './train-view.ts';

const trainer = new TrainView();
const editor = new SpecEditor(CHAR_GPT_SPEC, { onModel: (model) => trainer.setModel(model) });
let gpu: Awaited<ReturnType<typeof findGpu>> | undefined;
wireFolderPicker(() => (gpu?.ok ? gpu.gpu : undefined));

async function loadBase(): Promise<void> {
  const res = await fetch(`./${BASE_ASSET}`);
  if (!res.ok) throw new Error(`could not load the base model ${BASE_ASSET}: HTTP ${res.status}`);
  trainer.setBase(new Uint8Array(await res.arrayBuffer()));
}

async function start(): Promise<void> {
  const status = byId('gpu-status');
  const [found] = await Promise.all([
    findGpu(),
    loadBase().catch((err: Error) => {
      byId('train-status').textContent = err.message;
    }),
  ]);
  gpu = found;
  status.textContent = found.text;
  status.className = `status ${found.ok ? 'ok' : 'error'}`;
  status.dataset.adapter = found.ok ? found.gpu.adapterName : '';
  trainer.setGpu(found.ok ? found.gpu : undefined);
  if (found.ok) {
    found.gpu.device.lost.then((info) => {
      status.textContent = `The WebGPU device was lost (${info.message || info.reason}); reload the page.`;
      status.className = 'status error';
    });
  }
  document.body.dataset.ready = 'true';
}

// `npm run bench -- --only browser` times training steps in the page through this hook.
Object.assign(window, { rankfoldBench: (warmup: number, steps: number) => trainer.timeSteps(warmup, steps) });

void editor;
void start();
