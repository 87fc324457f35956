import sys, torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM
from peft import PeftModel
case, out = sys.argv[1], sys.argv[2]
cfg = AutoConfig.from_pretrained(case)
model = AutoModelForCausalLM.from_config(cfg).float().eval()
missing, unexpected = model.load_state_dict(load_file(f"{case}/model.safetensors"), strict=False)
model.tie_weights()
peft = PeftModel.from_pretrained(model, f"{out}/adapter").eval()
ours = load_file(f"{out}/ours.safetensors")
with torch.no_grad():
    logits = peft(input_ids=ours["input_ids"].long()).logits
diff = (logits - ours["logits"]).abs().max().item()
print(f"{case.split('/')[-1]}: PEFT loaded our adapter ({len(peft.peft_config['default'].target_modules)} target names); max |logits diff| = {diff:.2e}; missing={missing}")
sys.exit(0 if diff < 1e-4 else 1)
