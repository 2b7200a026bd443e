#!/usr/bin/env python3
"""PyTorch side of the runtime speed benchmark (eager, CPU, fp32, inference_mode).

Builds a random model with BlackMamba-1.5B's shapes (hidden 1152, ffn 3072, 8 experts,
state 16, conv 4, expansion 2, vocab rows 50304, dt_rank 72, swiglu, no biases) with
--layers layers alternating "r","8", and measures:
  - prefill tokens/s over a --prompt-token sequence (projections batched over time; the
    selective scan is a Python loop over time steps, as in any eager reference);
  - decode tokens/s over --gen recurrent steps (O(1) state per Mamba layer, no re-prefill).
Prints one JSON line. --save DIR writes the same random model as config.json +
model.safetensors (--dtype f32 or bf16) so the Swift tool can run the very same weights.
Note: with --dtype bf16 the benchmark itself runs on the bf16-rounded weights (still fp32
compute) so that both sides use identical values.
"""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
from blackmamba_reference import BlackMamba, _argmax_lowest  # noqa: E402
from random_weights import random_state_dict  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--gen", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", metavar="DIR")
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32", help="dtype of --save weights")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    config = {
        "num_layers": a.layers, "hidden_size": 1152, "state_size": 16, "conv_dimension": 4,
        "vocab_size": 50304, "expansion_factor": 2,
        "mamba_moe_layers": ["r" if i % 2 == 0 else "8" for i in range(a.layers)],
        "ffn_hidden_size": 3072, "add_bias_linear": False, "swiglu": True,
        "max_sequence_length": 2048,
    }
    sd = random_state_dict(config, 50304, seed=a.seed, dtype=torch.bfloat16 if a.dtype == "bf16" else torch.float32)
    if a.save:
        os.makedirs(a.save, exist_ok=True)
        with open(os.path.join(a.save, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        safetensors_io.write(os.path.join(a.save, "model.safetensors"), sorted(sd.items()), {"format": "pt"})
    model = BlackMamba(config, sd).to(torch.float32).eval()
    del sd

    g = torch.Generator().manual_seed(a.seed + 1)
    prompt = torch.randint(0, 50277, (a.prompt,), generator=g).tolist()

    with torch.inference_mode():
        # warm-up
        model(prompt[: min(16, len(prompt))])
        st = model.init_state()
        for t in prompt[:4]:
            _, st = model.step(t, st)

        t0 = time.perf_counter()
        logits, state = model(prompt, return_state=True)
        t1 = time.perf_counter()
        prefill_s = t1 - t0

        tok = _argmax_lowest(logits[-1])
        t0 = time.perf_counter()
        for _ in range(a.gen):
            lg, state = model.step(tok, state)
            tok = _argmax_lowest(lg)
        t1 = time.perf_counter()
        decode_s = t1 - t0

    print(json.dumps({
        "prefill_tok_s": round(a.prompt / prefill_s, 2),
        "decode_tok_s": round(a.gen / decode_s, 2),
        "threads": a.threads, "layers": a.layers, "prompt": a.prompt, "gen": a.gen,
        "torch": torch.__version__,
        "note": "eager fp32 CPU; prefill scan is a Python loop over time; decode = recurrent step incl. full [V,H] logits",
    }))


if __name__ == "__main__":
    main()
