#!/usr/bin/env python3
"""Train a small BlackMamba on Python standard-library sources (CPU), for quantization studies.

    python3 Scripts/train_fixture.py                       # writes Fixtures/trained/
    python3 Scripts/train_fixture.py --train-minutes 2 --out /tmp/t   # quick trial

What it does (all seeded, deterministic up to the time limit):
1. Tokenizer: Fixtures/tokenizer/tokenizer.json (byte-level BPE, <|endoftext|> = 0), polled
   for every 30 s up to --wait-tokenizer seconds; loaded with the `tokenizers` package.
2. Data: every *.py under sysconfig.get_paths()['stdlib'] (site-packages excluded), sorted by
   relative path, decoded as strict UTF-8 (files that are not UTF-8 are skipped). Split by
   FILE: file index % 20 == 7 is held out (5%), the rest is training data. Training stream =
   <|endoftext|> file <|endoftext|> file ...; batches are random windows of --seq+1 tokens.
   heldout.txt / calibration.txt are pieces of the held-out files only (see below).
3. Model: Scripts/trainable_blackmamba.py (same math and state-dict keys as blackmamba_reference.py;
   the selective scan is a fused C kernel with exact backward, or a chunked PyTorch scan).
4. Loss: next-token cross entropy + --aux-coef * (mean over MoE layers of the Switch
   load-balancing loss E * sum_e f_e * P_e, f_e = fraction of tokens whose argmax is e,
   P_e = mean of the sigmoid router outputs normalised over experts). The aux loss keeps all
   experts in use; it is a training-only term and is not part of the published model.
5. AdamW (betas 0.9/0.95, weight decay on matrices only), linear warmup then cosine decay to
   --min-lr-frac * --lr. The step count is fixed after timing the first steps so that the run
   fits --train-minutes; the schedule's progress is max(step/steps, elapsed/budget), so
   the cosine also completes (and training stops) at the hard time limit if the machine slows.
6. Output: config.json, model.safetensors (bf16, published key names), tokenizer.json,
   heldout.txt, calibration.txt, train_log.txt, README.md (with held-out loss/perplexity and
   per-layer expert usage measured by blackmamba_reference.BlackMamba in float32 on the bf16
   weights).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import sysconfig
import time

os.environ.setdefault("RAYON_NUM_THREADS", "2")  # tokenizers' thread pool
os.environ.setdefault("OMP_NUM_THREADS", "2")
# The machine is shared: spinning OpenMP workers lose badly when a core is taken away
# (measured 2-6x slower steps under load), so idle workers sleep instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import blackmamba_reference as ref  # noqa: E402
import safetensors_io  # noqa: E402
from trainable_blackmamba import TrainBlackMamba, MoEMixer, c_scan_usable  # noqa: E402

LOG_LINES = []


def log(msg=""):
    print(msg, flush=True)
    LOG_LINES.append(msg)


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------

def stdlib_files():
    base = sysconfig.get_paths()["stdlib"]
    out = []
    for dp, dns, fns in os.walk(base):
        rel = os.path.relpath(dp, base)
        parts = [] if rel == "." else rel.split(os.sep)
        if parts and parts[0] in ("site-packages", "dist-packages"):
            dns[:] = []
            continue
        dns.sort()
        for fn in fns:
            if fn.endswith(".py"):
                out.append("/".join(parts + [fn]))
    return base, sorted(out)


def read_texts(base, rels):
    texts, skipped = [], []
    for r in rels:
        with open(os.path.join(base, r), "rb") as f:
            b = f.read()
        try:
            t = b.decode("utf-8")
        except UnicodeDecodeError:
            skipped.append(r)
            continue
        if t.strip():
            texts.append((r, t))
    return texts, skipped


def cut_lines(text, max_bytes):
    """Longest prefix of whole lines with at most max_bytes UTF-8 bytes."""
    b = text.encode("utf-8")
    if len(b) <= max_bytes:
        return text if text.endswith("\n") else text + "\n"
    b = b[:max_bytes]
    i = b.rfind(b"\n")
    return b[:i + 1].decode("utf-8", errors="ignore") if i > 0 else ""


def build_pieces(files, start, total_bytes, per_file_bytes):
    """Concatenate up to per_file_bytes (whole lines) from files[start:], until total_bytes.
    Returns (text, index of the next unused file, names used)."""
    out, n, names = [], 0, []
    i = start
    while i < len(files) and n < total_bytes:
        name, text = files[i]
        i += 1
        piece = cut_lines(text, min(per_file_bytes, total_bytes - n))
        if not piece.strip():
            continue
        out.append(piece)
        names.append(name)
        n += len(piece.encode("utf-8"))
    return "".join(out), i, names


# --------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------

def wait_for(path, max_wait, every=30):
    t0 = time.time()
    while not os.path.exists(path):
        if time.time() - t0 >= max_wait:
            return False
        log(f"waiting for {path} ({time.time() - t0:.0f}s)")
        time.sleep(every)
    time.sleep(2)  # let a writer finish
    return True


def byte_level_tokenizer():
    """Fallback: 256 byte tokens (GPT-2 byte-to-unicode alphabet) + <|endoftext|> as id 0."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {"<|endoftext|>": 0}
    for ch in sorted(alphabet, key=lambda c: ord(c)):
        vocab[ch] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    from tokenizers import AddedToken
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    return tok


# --------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------

def windows(ids, L):
    return [ids[i:i + L] for i in range(0, len(ids), L) if len(ids[i:i + L]) >= 2]


@torch.no_grad()
def eval_train_model(model, ids, L, max_windows=None):
    """Mean NLL (nats/token) of the training model on non-overlapping windows of ids."""
    ws = [w for w in windows(ids, L) if len(w) == L]
    if max_windows:
        ws = ws[:max_windows]
    x = torch.tensor(ws, dtype=torch.long)
    tot, n = 0.0, 0
    for i in range(0, len(ws), 16):
        xb = x[i:i + 16]
        lg = model(xb[:, :-1])
        tot += float(F.cross_entropy(lg.reshape(-1, lg.shape[-1]), xb[:, 1:].reshape(-1), reduction="sum"))
        n += xb[:, 1:].numel()
    return tot / n


@torch.no_grad()
def eval_reference(rm, ids, L, vocab_size):
    """Held-out NLL with blackmamba_reference.BlackMamba (one window at a time, fresh state).
    Returns (mean nll, tokens scored, {layer: counts per expert}, top1 accuracy)."""
    tot, n, correct = 0.0, 0, 0
    counts = {}
    for w in windows(ids, L):
        logits, experts = rm(w, return_experts=True)
        lg = logits[:-1, :vocab_size].float()
        tgt = torch.tensor(w[1:])
        # logits over padding rows are excluded only if they exist; vocab rows == vocab here
        tot += float(F.cross_entropy(logits[:-1].float(), tgt, reduction="sum"))
        correct += int((lg.argmax(-1) == tgt).sum())
        n += len(w) - 1
        for li, es in experts.items():
            c = counts.setdefault(li, [0] * rm.kinds[li][1])
            for e in es:
                c[e] += 1
    return tot / n, n, counts, correct / n


@torch.no_grad()
def router_margins(model, ids, L):
    """Per MoE layer: fraction of tokens whose top-1 and top-2 sigmoid router outputs differ by
    less than 0.01 / 0.05 (argmax flips under small weight perturbations happen there)."""
    res = {}
    hooks = []
    for i, layer in enumerate(model.decoder.layers):
        if isinstance(layer.mixer, MoEMixer):
            def hook(mod, inp, out, i=i):
                p = torch.sigmoid(mod.router(inp[0].reshape(-1, inp[0].shape[-1])))
                top = torch.topk(p, 2, dim=-1).values
                gap = top[:, 0] - top[:, 1]
                r = res.setdefault(i, [0, 0, 0])
                r[0] += int((gap < 0.01).sum()); r[1] += int((gap < 0.05).sum()); r[2] += gap.numel()
            hooks.append(layer.mixer.register_forward_hook(hook))
    ws = [w for w in windows(ids, L) if len(w) == L]
    x = torch.tensor(ws, dtype=torch.long)
    for i in range(0, len(ws), 16):
        model(x[i:i + 16])
    for h in hooks:
        h.remove()
    return {i: (a / c, b / c) for i, (a, b, c) in res.items()}


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "Fixtures", "trained"))
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "Fixtures", "tokenizer", "tokenizer.json"))
    ap.add_argument("--wait-tokenizer", type=float, default=1200, help="seconds to poll for the tokenizer")
    ap.add_argument("--byte-level", action="store_true", help="use the byte-level fallback tokenizer")
    ap.add_argument("--train-minutes", type=float, default=20.0, help="hard limit on the training loop")
    ap.add_argument("--steps", type=int, default=0, help="optimizer steps (0: fit the time budget)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--aux-coef", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--experts", type=int, default=8)
    ap.add_argument("--ffn", type=int, default=128)
    ap.add_argument("--state", type=int, default=16)
    ap.add_argument("--max-seq", type=int, default=512)
    ap.add_argument("--heldout-bytes", type=int, default=200_000)
    ap.add_argument("--calib-bytes", type=int, default=20_000)
    args = ap.parse_args()

    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log(f"# train_fixture.py {' '.join(sys.argv[1:])}")
    log(f"torch {torch.__version__}, python {sys.version.split()[0]}, threads {torch.get_num_threads()}")

    # -- tokenizer ------------------------------------------------------------------------
    from tokenizers import Tokenizer
    tok_source = args.tokenizer
    if not args.byte_level and wait_for(args.tokenizer, args.wait_tokenizer):
        tok = Tokenizer.from_file(args.tokenizer)
    else:
        log("WARNING: tokenizer not found; using the byte-level fallback (256 bytes + <|endoftext|>)")
        tok = byte_level_tokenizer()
        tok_source = "byte-level fallback built by train_fixture.py"
    t_start = time.time()  # the run's clock starts once the tokenizer is there
    vocab = tok.get_vocab_size(with_added_tokens=True)
    eot = tok.token_to_id("<|endoftext|>")
    assert eot == 0, f"<|endoftext|> id is {eot}, expected 0"
    rows = (vocab + 63) // 64 * 64
    log(f"tokenizer: {tok_source}, vocab {vocab}, embedding rows {rows}")

    # -- data -----------------------------------------------------------------------------
    base, rels = stdlib_files()
    texts, skipped = read_texts(base, rels)
    held = [ft for i, ft in enumerate(texts) if i % 20 == 7]
    train = [ft for i, ft in enumerate(texts) if i % 20 != 7]
    assert not ({n for n, _ in held} & {n for n, _ in train})
    log(f"stdlib {base}: {len(rels)} .py files, {len(skipped)} skipped (not UTF-8), "
        f"{len(texts)} used: {len(train)} train / {len(held)} held out")
    # heldout.txt / calibration.txt: held-out files in a seeded shuffled order, up to 16 KB /
    # 4 KB of whole lines from each file, so many modules are represented.
    held_sh = list(held)
    random.Random(0).shuffle(held_sh)
    heldout_text, nxt, held_names = build_pieces(held_sh, 0, args.heldout_bytes, 16_384)
    calib_text, _, calib_names = build_pieces(held_sh, nxt, args.calib_bytes, 4_096)
    assert not set(held_names) & set(calib_names)
    with open(os.path.join(args.out, "heldout.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(heldout_text)
    with open(os.path.join(args.out, "calibration.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(calib_text)
    if os.path.abspath(args.tokenizer) != os.path.abspath(os.path.join(args.out, "tokenizer.json")):
        if tok_source == args.tokenizer:
            shutil.copyfile(args.tokenizer, os.path.join(args.out, "tokenizer.json"))
        else:
            tok.save(os.path.join(args.out, "tokenizer.json"))

    t0 = time.time()
    enc = tok.encode_batch([t for _, t in train], add_special_tokens=False)
    stream = []
    for e in enc:
        stream.append(eot)
        stream.extend(e.ids)
    stream.append(eot)
    data = torch.tensor(stream, dtype=torch.long)
    train_bytes = sum(len(t.encode("utf-8")) for _, t in train)
    held_ids = tok.encode(heldout_text, add_special_tokens=False).ids
    log(f"train tokens {len(data):,} ({train_bytes / len(data):.2f} bytes/token, {train_bytes:,} bytes); "
        f"heldout.txt {len(heldout_text.encode('utf-8')):,} bytes = {len(held_ids):,} tokens from "
        f"{len(held_names)} files; calibration.txt {len(calib_text.encode('utf-8')):,} bytes from "
        f"{len(calib_names)} files; tokenized in {time.time() - t0:.1f}s")

    # -- model ----------------------------------------------------------------------------
    kinds = ["r" if i % 2 == 0 else str(args.experts) for i in range(args.layers)]
    config = {
        "num_layers": args.layers, "mamba_moe_layers": kinds, "hidden_size": args.hidden,
        "state_size": args.state, "conv_dimension": 4, "expansion_factor": 2,
        "ffn_hidden_size": args.ffn, "vocab_size": vocab, "add_bias_linear": False,
        "swiglu": True, "max_sequence_length": args.max_seq,
    }
    model = TrainBlackMamba(config, rows)
    n_params = sum(p.numel() for p in model.parameters())
    n_expert = sum(p.numel() for n, p in model.named_parameters() if "local_experts" in n)
    log(f"config {json.dumps(config)}")
    log(f"parameters {n_params:,} (experts {n_expert:,}, {100 * n_expert / n_params:.0f}%), "
        f"bf16 {2 * n_params / 1e6:.2f} MB; C scan kernel: "
        f"{c_scan_usable(torch.zeros(1, 1, 2 * args.hidden), torch.zeros(1, args.state))}")

    # consistency with the reference implementation (float32, a small batch)
    chk = torch.stack([data[i:i + 96] for i in (0, 5000, 90000)])
    with torch.no_grad():
        lt = model(chk)
    rm = ref.BlackMamba(config, {k: v.detach().clone() for k, v in model.state_dict().items()}).float()
    lr_ = torch.stack([rm(c.tolist()) for c in chk])
    rel_init = float(torch.linalg.norm(lt - lr_) / torch.linalg.norm(lr_))
    log(f"train model vs blackmamba_reference at init (f32, 3x96 tokens): rel L2 {rel_init:.2e}")
    assert rel_init < 1e-5

    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.dim() >= 2 and not n.endswith("A_log") else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    gen = torch.Generator().manual_seed(args.seed)
    budget = args.train_minutes * 60.0
    total_steps = args.steps if args.steps > 0 else None
    L, B = args.seq, args.batch
    hi = len(data) - L - 1

    def lr_at(progress, step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        c = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * c)

    log(f"training: batch {B} x seq {L} = {B * L} tokens/step, AdamW lr {args.lr} "
        f"(warmup {args.warmup}, cosine to {args.min_lr_frac * args.lr:g}), wd {args.wd}, "
        f"clip {args.clip}, aux {args.aux_coef}, budget {args.train_minutes} min")
    curve = []
    t_train = time.time()
    eval_time = 0.0
    step = 0
    acc_loss = acc_aux = 0.0
    acc_n = 0
    frac_acc = {}
    stop_reason = "planned step count reached"
    last_loss = float("nan")
    while True:
        elapsed = time.time() - t_train - eval_time
        if total_steps is None and step == 12:
            per = elapsed / step
            total_steps = max(args.warmup + 10, int(budget / per * 0.97))
            log(f"timing: {per:.2f} s/step over the first {step} steps -> {total_steps} steps")
        progress = max(step / total_steps if total_steps else 0.0, elapsed / budget)
        if total_steps is not None and step >= total_steps:
            break
        if elapsed >= budget:
            stop_reason = "time limit"
            break
        lr = lr_at(progress, step)
        for g in opt.param_groups:
            g["lr"] = lr
        off = torch.randint(0, hi, (B,), generator=gen)
        xb = torch.stack([data[o:o + L + 1] for o in off.tolist()])
        logits = model(xb[:, :-1])
        ce = F.cross_entropy(logits.reshape(-1, rows), xb[:, 1:].reshape(-1))
        stats = model.moe_stats()
        aux = torch.stack([s[2] for s in stats]).mean()
        loss = ce + args.aux_coef * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip))
        opt.step()
        step += 1
        acc_loss += ce.item(); acc_aux += aux.item(); acc_n += 1
        for li, fr, _ in stats:
            frac_acc[li] = frac_acc.get(li, 0) + fr
        if step % args.log_every == 0 or step == 1:
            el = time.time() - t_train - eval_time
            fr = {li: f / acc_n for li, f in frac_acc.items()}
            mx = max(float(f.max()) for f in fr.values())
            mn = min(float(f.min()) for f in fr.values())
            last_loss = acc_loss / acc_n
            log(f"step {step:5d}  loss {last_loss:.4f}  aux {acc_aux / acc_n:.4f}  lr {lr:.2e}  "
                f"gnorm {gnorm:.2f}  expert frac min {mn:.3f} max {mx:.3f}  "
                f"{step * B * L / 1e6:.2f}M tok  {el:.0f}s  {step * B * L / el:.0f} tok/s")
            curve.append((step, last_loss))
            acc_loss = acc_aux = 0.0
            acc_n = 0
            frac_acc = {}
        if step % args.eval_every == 0:
            te = time.time()
            hl = eval_train_model(model, held_ids, L, max_windows=32)
            model.train()
            eval_time += time.time() - te
            log(f"step {step:5d}  held-out loss (32x{L} tokens, f32) {hl:.4f}  ppl {math.exp(hl):.2f}")
    train_secs = time.time() - t_train
    if acc_n:
        last_loss = acc_loss / acc_n
        curve.append((step, last_loss))
    log(f"stopped after {step} steps ({stop_reason}), {step * B * L:,} tokens, "
        f"{train_secs / 60:.1f} min (eval {eval_time:.0f}s); last logged train loss {last_loss:.4f}")

    # -- save -----------------------------------------------------------------------------
    sd32 = {k: v.detach().clone() for k, v in model.state_dict().items()}
    sd16 = {k: v.to(torch.bfloat16) for k, v in sd32.items()}
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    st_path = os.path.join(args.out, "model.safetensors")
    safetensors_io.write(st_path, sorted(sd16.items()), {"format": "pt"})
    log(f"wrote {st_path} ({os.path.getsize(st_path) / 1e6:.2f} MB, {len(sd16)} tensors, bf16)")

    # -- evaluate with the reference implementation ---------------------------------------
    te = time.time()
    chk = torch.stack([torch.tensor(held_ids[i:i + 128]) for i in (0, 1000, 2000, 3000)])
    with torch.no_grad():
        lt = model(chk)
    rm32 = ref.BlackMamba(config, sd32).float()
    lr_ = torch.stack([rm32(c.tolist()) for c in chk])
    rel_final = float(torch.linalg.norm(lt - lr_) / torch.linalg.norm(lr_))
    log(f"trained model vs blackmamba_reference (f32 weights, f32, 4x128 held-out tokens): rel L2 {rel_final:.2e}")
    cfg2, sd_loaded, _ = ref.load_checkpoint(args.out)
    rm = ref.BlackMamba(cfg2, sd_loaded).float()
    # the reference runs many small ops: one thread is faster (and kinder to a shared machine)
    torch.set_num_threads(1)
    nll_512, ntok, counts, acc = eval_reference(rm, held_ids, args.max_seq, vocab)
    torch.set_num_threads(args.threads)
    # secondary numbers with the (equivalent, batched) training model
    nll32_512 = eval_train_model(model, held_ids, args.max_seq)          # float32 weights
    model.load_state_dict({k: v.float() for k, v in sd16.items()})       # now the bf16 weights
    nll_256 = eval_train_model(model, held_ids, L)
    held_bytes = len(heldout_text.encode("utf-8"))
    bpb = nll_512 * ntok / math.log(2) / held_bytes
    log(f"held-out (reference, f32 math, bf16 weights, {args.max_seq}-token windows): nll {nll_512:.4f} "
        f"ppl {math.exp(nll_512):.2f}, top-1 acc {acc:.3f}, {bpb:.3f} bits/byte; {L}-token windows: "
        f"nll {nll_256:.4f} ppl {math.exp(nll_256):.2f} (train module); f32 weights: nll {nll32_512:.4f} "
        f"ppl {math.exp(nll32_512):.2f}")
    margins = router_margins(model, held_ids, L)
    usage = {}
    for li in sorted(counts):
        c = counts[li]
        tot = sum(c)
        usage[li] = [x / tot for x in c]
        ent = -sum(p * math.log(p) for p in usage[li] if p > 0)
        log(f"layer {li} expert usage: " + " ".join(f"{p:.3f}" for p in usage[li])
            + f"  (perplexity {math.exp(ent):.2f} of {len(c)}; router gap <0.01: "
            f"{margins[li][0]:.3f}, <0.05: {margins[li][1]:.3f})")
    eval_secs = time.time() - te
    total_secs = time.time() - t_start
    log(f"evaluation {eval_secs:.0f}s; whole run {total_secs / 60:.1f} min")

    with open(os.path.join(args.out, "train_log.txt"), "w") as f:
        f.write("\n".join(LOG_LINES) + "\n")

    # -- README ---------------------------------------------------------------------------
    rel_script = "Scripts/train_fixture.py"
    cmd = "python3 " + rel_script + ("" if len(sys.argv) == 1 else " " + " ".join(sys.argv[1:]))
    lines = []
    lines.append("# Fixtures/trained: a small trained BlackMamba\n")
    lines.append("A small BlackMamba (Mamba layers alternating with top-1 mixture-of-experts layers, "
                 "the published architecture and tensor names) trained on CPU on Python standard-library "
                 "source code, so that quantization quality can be measured on weights with trained "
                 "statistics rather than random ones.\n")
    lines.append("## Files\n")
    lines.append("| file | what |\n|---|---|")
    lines.append(f"| config.json | model config (published field names) |")
    lines.append(f"| model.safetensors | bf16 weights, published key names, {os.path.getsize(st_path):,} bytes |")
    lines.append(f"| tokenizer.json | copy of the tokenizer used ({os.path.relpath(tok_source, ROOT) if tok_source == args.tokenizer else tok_source}), vocab {vocab}, `<|endoftext|>` = 0 |")
    lines.append(f"| heldout.txt | {held_bytes:,} bytes of held-out Python ({len(held_names)} files, up to 16 KB of whole lines each, seeded shuffled order) = {len(held_ids):,} tokens |")
    lines.append(f"| calibration.txt | {len(calib_text.encode('utf-8')):,} bytes from {len(calib_names)} other held-out files (up to 4 KB each), for quantization calibration |")
    lines.append("| train_log.txt | the full training log |\n")
    lines.append("## How it was made\n")
    lines.append(f"```\n{cmd}\n```\n")
    lines.append(f"- Machine: 2-core CPU shared with other work, torch {torch.__version__}, {args.threads} threads; "
                 f"whole run {total_secs / 60:.1f} min (training {train_secs / 60:.1f} min, hard limit "
                 f"{args.train_minutes:g} min; evaluation {eval_secs:.0f} s).")
    lines.append(f"- Data: every `*.py` under `sysconfig.get_paths()['stdlib']` (`{base}`, Python "
                 f"{sys.version.split()[0]}), site-packages excluded, sorted by relative path; "
                 f"{len(skipped)} files that are not UTF-8 skipped. Split by file: index % 20 == 7 is "
                 f"held out ({len(held)} files), the other {len(train)} files are training data "
                 f"({len(data):,} tokens, {train_bytes / len(data):.2f} bytes/token). heldout.txt and "
                 f"calibration.txt come only from held-out files (different files for each). "
                 f"The model never saw a held-out file. The tokenizer (made by another script, "
                 f"Scripts/make_tokenizer.py, from the top-level stdlib modules) may have: "
                 f"{sum('/' not in n for n, _ in held)} held-out files are top-level modules "
                 f"({sum('/' not in n for n in held_names)} of the {len(held_names)} in heldout.txt).")
    lines.append(f"- Model: {json.dumps(config)}; {n_params:,} parameters ({100 * n_expert / n_params:.0f}% "
                 f"in experts); dt_rank {math.ceil(args.hidden / 16)}; embedding rows {rows} (tied output).")
    lines.append(f"- Training: `Scripts/trainable_blackmamba.py` (same math and key names as "
                 f"`Scripts/blackmamba_reference.py`; logits agree to rel L2 {rel_final:.1e} in float32), "
                 f"random windows of {L + 1} tokens from the training stream "
                 f"(`<|endoftext|>` between files), batch {B} x {L}; AdamW lr {args.lr:g}, betas 0.9/0.95, "
                 f"weight decay {args.wd:g} on matrices, linear warmup {args.warmup} steps then cosine to "
                 f"{args.min_lr_frac * args.lr:g}, gradient clip {args.clip:g}, seed {args.seed}, float32. "
                 f"Loss = cross entropy + {args.aux_coef:g} x Switch load-balancing loss "
                 f"(E * sum_e f_e * P_e, mean over MoE layers; P_e from the sigmoid router outputs "
                 f"normalised over experts) so that all experts are used; the aux loss is training-only.")
    lines.append(f"- {step} steps ({stop_reason}), {step * B * L:,} training tokens "
                 f"(about {step * B * L / len(data):.2f} epochs).\n")
    lines.append("## Results\n")
    lines.append(f"- Final train loss (mean of the last {args.log_every} steps' cross entropy): {last_loss:.4f} nats/token.")
    lines.append(f"- Held-out, measured with `blackmamba_reference.BlackMamba` in float32 on the bf16 weights of "
                 f"model.safetensors, heldout.txt tokenized without special tokens, non-overlapping "
                 f"{args.max_seq}-token windows each starting from a zero state, every token after the "
                 f"first of a window scored ({ntok:,} tokens): **loss {nll_512:.4f} nats/token, perplexity "
                 f"{math.exp(nll_512):.2f}**, top-1 accuracy {acc:.3f}, {bpb:.3f} bits per byte.")
    lines.append(f"- Measured with the training module (same math, batched; full windows only): "
                 f"{L}-token windows with the bf16 weights: loss {nll_256:.4f}, perplexity "
                 f"{math.exp(nll_256):.2f}; {args.max_seq}-token windows with the float32 weights before "
                 f"the bf16 cast: loss {nll32_512:.4f}, perplexity {math.exp(nll32_512):.2f}.\n")
    lines.append("Loss curve (training cross entropy, mean over each logging interval):\n")
    lines.append("| step | loss |\n|---|---|")
    stride = max(1, len(curve) // 16)
    pts = curve[::stride] + ([curve[-1]] if curve and curve[-1] not in curve[::stride] else [])
    for s, l in pts:
        lines.append(f"| {s} | {l:.4f} |")
    lines.append("")
    lines.append("## Expert usage on heldout.txt\n")
    lines.append(f"Fraction of held-out tokens routed to each expert ({args.max_seq}-token windows, reference "
                 "implementation, bf16 weights). 'eff.' is exp(entropy) of the distribution (8 = perfectly "
                 "balanced). 'gap<0.01' / 'gap<0.05': fraction of tokens whose best and second-best sigmoid "
                 f"router outputs differ by less than 0.01 / 0.05 ({L}-token windows): those are the tokens "
                 "whose expert choice can flip under quantization.\n")
    E = args.experts
    lines.append("| layer | " + " | ".join(f"e{e}" for e in range(E)) + " | eff. | gap<0.01 | gap<0.05 |")
    lines.append("|---" * (E + 4) + "|")
    for li in sorted(usage):
        u = usage[li]
        ent = -sum(p * math.log(p) for p in u if p > 0)
        lines.append(f"| {li} | " + " | ".join(f"{p:.3f}" for p in u)
                     + f" | {math.exp(ent):.2f} | {margins[li][0]:.3f} | {margins[li][1]:.3f} |")
    lines.append("")
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write("\n".join(lines))
    log(f"wrote {args.out}/README.md")


if __name__ == "__main__":
    main()
