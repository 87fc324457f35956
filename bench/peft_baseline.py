#!/usr/bin/env python3
"""PyTorch + PEFT baseline for Rankfold's benchmark, run on the GPU machine by bench/gpu.sh.

Float32 throughout with TF32 off. Measures torch.matmul GFLOP/s for the sizes our run used, and a
training step (forward, backward, AdamW) of the same transformer as bench/model.ts (same shapes,
parameter names and initial values, so the initial loss must match ours) with PEFT LoRA on q_proj and
v_proj, and with full fine-tuning. With --ours (our bench JSON) it prints our/their ratios.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

M32 = 0xFFFFFFFF


# ---- bench/model.ts's deterministic init, vectorised (mulberry32 per parameter, seeded by name) ----
def _imul(a, b):
    return (a * b) & M32  # int64 products wrap, the low 32 bits are exact


def init_param(name, shape, init, seed=1234):
    n = math.prod(shape)
    if init == "zeros":
        return torch.zeros(shape)
    if init == "ones":
        return torch.ones(shape)
    h = seed & M32
    for ch in name:
        h = ((h ^ ord(ch)) * 2654435761) & M32
    count = n if init == "kaiming" else 2 * ((n + 1) // 2)
    k = torch.arange(1, count + 1, dtype=torch.int64)
    t = (h + k * 0x6D2B79F5) & M32
    t = _imul(t ^ (t >> 15), t | 1)
    t = (t ^ ((t + _imul(t ^ (t >> 7), t | 61)) & M32)) & M32
    u = ((t ^ (t >> 14)) & M32).to(torch.float64) / 4294967296.0
    if init == "kaiming":
        bound = 1.0 / math.sqrt(shape[1])
        return ((2 * u - 1) * bound).to(torch.float32).reshape(shape)
    u1 = torch.clamp(u[0::2], min=1e-12)
    v = u[1::2]
    r = 0.02 * torch.sqrt(-2 * torch.log(u1))
    out = torch.stack([r * torch.cos(2 * math.pi * v), r * torch.sin(2 * math.pi * v)], dim=1).reshape(-1)[:n]
    return out.to(torch.float32).reshape(shape)


def batch_inputs(cfg, seed=7):
    n = cfg["batch"] * cfg["seq"]
    ids, s = [], seed & M32
    for _ in range(n):
        s = (s * 1664525 + 1013904223) & M32
        ids.append(s % cfg["vocab"])
    labels = [(-100 if (i + 1) % cfg["seq"] == 0 else ids[i + 1]) for i in range(n)]
    shape = (cfg["batch"], cfg["seq"])
    return torch.tensor(ids).reshape(shape), torch.tensor(labels).reshape(shape)


# ---- the model: GPT-2-shaped pre-LayerNorm decoder, torch.nn.Linear [out, in] weights, tied head ----
class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (nn.Linear(d, d) for _ in range(4))
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)

    def forward(self, x):
        B, T, D = x.shape
        a = self.ln_1(x)
        split = lambda t: t.view(B, T, self.heads, D // self.heads).transpose(1, 2)
        att = F.scaled_dot_product_attention(split(self.q_proj(a)), split(self.k_proj(a)), split(self.v_proj(a)), is_causal=True)
        x = x + self.o_proj(att.transpose(1, 2).reshape(B, T, D))
        return x + self.fc2(F.gelu(self.fc1(self.ln_2(x))))


class BenchModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["width"]
        self.wte = nn.Embedding(cfg["vocab"], d)
        self.wpe = nn.Embedding(cfg["seq"], d)
        self.h = nn.ModuleList(Block(d, cfg["heads"]) for _ in range(cfg["layers"]))
        self.ln_f = nn.LayerNorm(d, eps=1e-5)

    def forward(self, ids, labels):
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.wte(ids) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)


def init_kind(name):
    if name.endswith("lora_A.weight"):
        return "kaiming"
    if name.endswith("lora_B.weight") or name.endswith(".bias"):
        return "zeros"
    if ".ln_" in name or name.startswith("ln_f"):
        return "ones"
    return "normal"


def our_name(name):
    return name.replace("base_model.model.", "").replace(".base_layer", "").replace(".default", "").replace("wte.weight", "wte").replace("wpe.weight", "wpe")


def load_our_init(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            ours = our_name(name)
            p.copy_(init_param(ours, list(p.shape), init_kind(ours)))


def build(cfg, mode, device):
    model = BenchModel(cfg)
    if mode == "lora":
        from peft import LoraConfig, get_peft_model

        lc = LoraConfig(r=cfg["rank"], lora_alpha=cfg["alpha"], lora_dropout=0.0, target_modules=["q_proj", "v_proj"], bias="none")
        model = get_peft_model(model, lc)
    load_our_init(model)
    return model.to(device)


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def time_steps(fn, warmup, reps, inner=1):
    for _ in range(warmup):
        fn()
    sync()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        sync()
        samples.append((time.perf_counter() - t0) * 1000 / inner)
    return statistics.median(samples)


def bench_matmul(sizes, device):
    rows = []
    for n in sizes:
        g = torch.Generator(device="cpu").manual_seed(n)
        a = torch.rand(n, n, generator=g).to(device) - 0.5
        b = torch.rand(n, n, generator=g).to(device) - 0.5
        inner = max(1, min(200, int(2e11 // (2 * n**3))))
        ms = time_steps(lambda: torch.matmul(a, b), 3, 9 if device == "cuda" else 3, inner if device == "cuda" else 1)
        rows.append({"size": n, "ms": ms, "gflops": 2 * n**3 / (ms * 1e6)})
        print(f"[peft] torch.matmul {n}: {rows[-1]['gflops']:.1f} GFLOP/s", file=sys.stderr)
    return rows


def bench_train(cfg, mode, device, reps=20):
    model = build(cfg, mode, device)
    ids, labels = (t.to(device) for t in batch_inputs(cfg))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    with torch.no_grad():
        initial = model(ids, labels).item()

    def step():
        opt.zero_grad(set_to_none=True)
        model(ids, labels).backward()
        opt.step()

    for _ in range(3):
        step()
    sync()
    cuda = device == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    ms = time_steps(step, 1, reps)
    peak = torch.cuda.max_memory_allocated() if cuda else float("nan")
    with torch.no_grad():
        final = model(ids, labels).item()
    row = {"name": f"torch {'PEFT LoRA' if mode == 'lora' else 'full fine-tune'}", "ms": ms, "peakBytes": peak,
           "trainableParams": sum(p.numel() for p in params), "initialLoss": initial, "loss": final}
    print(f"[peft] train {row['name']}: {ms:.2f} ms, peak {peak / 2**20:.1f} MiB, loss {initial:.5f} -> {final:.5f}", file=sys.stderr)
    del model, opt
    if cuda:
        torch.cuda.empty_cache()
    return row


def fmt(x, d=2):
    return "-" if x is None or not math.isfinite(x) else f"{x:.{d}f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", help="our bench JSON (bench/run.ts --out); its sizes and model are reused")
    ap.add_argument("--sizes", default="256,512,1024,2048,4096")
    ap.add_argument("--out", default="bench/results/peft.json")
    ap.add_argument("--device", default="cuda", help="cuda (the benchmark) or cpu (a smoke run of this script)")
    ap.add_argument("--cpu-check", action="store_true", help="only print the initial loss on the CPU (no CUDA, no PEFT needed)")
    args = ap.parse_args()

    ours = None
    if args.ours:
        try:
            with open(args.ours) as f:
                ours = json.load(f)
        except (OSError, ValueError) as e:
            print(f"[peft] could not read {args.ours}: {e}; running the baseline alone", file=sys.stderr)
    cfg = (ours or {}).get("meta", {}).get("model") or dict(vocab=512, width=256, layers=4, heads=4, seq=128, batch=8, rank=8, alpha=16)
    sizes = [m["m"] for m in ours["matmul"]] if ours and ours.get("matmul") else [int(s) for s in args.sizes.split(",")]

    if args.cpu_check:
        # LoRA B starts at zero, so the LoRA model's initial loss is the base model's.
        model = build(cfg, "full", "cpu")
        ids, labels = batch_inputs(cfg)
        with torch.no_grad():
            loss = model(ids, labels).item()
        theirs = [t.get("initialLoss") for t in (ours or {}).get("train", [])]
        print(f"initial loss (torch, cpu): {loss:.5f}; in --ours: {theirs}")
        return

    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("peft_baseline: CUDA is not available (use --device cpu for a smoke run)")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    res = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu", "torch": torch.__version__, "model": cfg, "tf32": False}
    try:
        import peft

        res["peft"] = peft.__version__
    except ImportError:
        res["peft"] = None
    res["matmul"] = bench_matmul(sizes, device)
    reps = 20 if device == "cuda" else 3
    res["train"] = [bench_train(cfg, "lora", device, reps)] if res["peft"] else []
    res["train"].append(bench_train(cfg, "full", device, reps))
    with open(args.out, "w") as f:
        json.dump(res, f, indent=2)

    print(f"\n## PyTorch {res['torch']} + PEFT {res['peft']} on {res['device']} (float32, TF32 off)\n")
    print("| size | torch GFLOP/s | ours GFLOP/s | ours/torch | tfjs GFLOP/s | tfjs/torch |\n| --- | --- | --- | --- | --- | --- |")
    our_mm = {m["m"]: m for m in (ours or {}).get("matmul", [])}
    for r in res["matmul"]:
        o = our_mm.get(r["size"], {})
        og, tg = o.get("oursGflops"), o.get("tfjsGflops")
        print(f"| {r['size']} | {fmt(r['gflops'], 1)} | {fmt(og, 1)} | {fmt(og / r['gflops'] if og else None)} | {fmt(tg, 1)} | {fmt(tg / r['gflops'] if tg else None)} |")
    print("\n| run | ms/step | peak MiB | initial loss | ours (same mode) ms | ours/torch time | ours/torch peak memory |\n| --- | --- | --- | --- | --- | --- | --- |")
    our_train = {t["name"]: t for t in (ours or {}).get("train", [])}
    for r in res["train"]:
        o = our_train.get("ours LoRA" if "LoRA" in r["name"] else "ours full fine-tune", {})
        om, op = o.get("ms"), o.get("peakBytes")
        print(f"| {r['name']} | {fmt(r['ms'])} | {fmt(r['peakBytes'] / 2**20, 1)} | {fmt(r['initialLoss'], 5)} (ours {fmt(o.get('initialLoss'), 5)}) | "
              f"{fmt(om)} | {fmt(om / r['ms'] if om else None)} | {fmt(op / r['peakBytes'] if op else None)} |")
    print("\ntargets: ours/torch matmul at 4096 >= 0.75; ours/torch LoRA step time <= 1.5")


if __name__ == "__main__":
    main()
