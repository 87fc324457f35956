# PEFT side of the reverse trip (see README.md): make a PEFT adapter with the given LoraConfig
# options on a conformance case's base model, move every trainable tensor off its init (so biases
# and modules_to_save copies differ from the base), save it, and dump logits for rankfold-check.mts.
import json, sys, torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForCausalLM
from peft import LoraConfig, get_peft_model
case, options, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
cfg = AutoConfig.from_pretrained(case)
model = AutoModelForCausalLM.from_config(cfg).float().eval()
model.load_state_dict(load_file(f"{case}/model.safetensors"), strict=False)
model.tie_weights()
torch.manual_seed(4)
pm = get_peft_model(model, LoraConfig(**{"r": 4, "lora_alpha": 8, "init_lora_weights": False, **options}))
with torch.no_grad():
    for n, p in pm.named_parameters():
        if p.requires_grad: p.add_(0.02 * torch.randn_like(p))
pm.eval().save_pretrained(f"{out}/adapter")
ids = torch.randint(0, cfg.vocab_size, (2, 12), generator=torch.Generator().manual_seed(5))
with torch.no_grad():
    logits = pm(input_ids=ids).logits
    merged = pm.merge_and_unload()
    merged_logits = merged(input_ids=ids).logits
save_file({"input_ids": ids.to(torch.int32).contiguous(), "logits": logits.contiguous(), "logits_merged": merged_logits.contiguous()}, f"{out}/peft.safetensors")
print("saved", sorted(k for k in load_file(f"{out}/adapter/adapter_model.safetensors")))
