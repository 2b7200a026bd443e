#!/usr/bin/env python3
"""Trainable BlackMamba (Mamba layers alternating with top-1 MoE layers) for CPU training.

Same math as Scripts/blackmamba_reference.py / Formats/model.md, same state-dict key names
(`embedding.word_embeddings.weight`, `decoder.layers.{i}.mixer.in_proj.weight`, ...), so
`blackmamba_reference.BlackMamba(config, model.state_dict())` gives the same logits.

Differences from the reference are only in how things are computed, for batched training:
- the selective scan is a custom autograd Function that works in time chunks, keeps only the
  chunk-boundary states, and recomputes each chunk in backward (exact gradients, bounded
  memory, no autograd tape over time steps);
- the MoE layer dispatches tokens per expert for a whole batch and also returns the
  statistics for a Switch-style load-balancing loss.

Self-test (gradients vs. naive autograd, logits vs. the reference):
    python3 Scripts/trainable_blackmamba.py --self-test
"""

from __future__ import annotations

import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-5


# --------------------------------------------------------------------------------------
# Selective scan:  h_t = exp(delta_t A) h_{t-1} + delta_t u_t B_t ;  y_t = h_t . C_t
# --------------------------------------------------------------------------------------

def _chunk_states(u, delta, A, Bm, h0):
    """Time-major chunk. u, delta [T,B,D]; Bm [T,B,N]; h0 [B,D,N].
    Returns dA [T,B,D,N] and hs [T,B,D,N] (states after each step)."""
    dA = torch.exp(delta.unsqueeze(-1) * A)                      # [T,B,D,N]
    hs = (delta * u).unsqueeze(-1) * Bm.unsqueeze(2)             # dBu, scanned in place -> h
    hs[0].addcmul_(dA[0], h0)
    for t in range(1, hs.shape[0]):
        hs[t].addcmul_(dA[t], hs[t - 1])
    return dA, hs


class SelectiveScan(torch.autograd.Function):
    """y[b,l,d] = sum_n h[b,l,d,n] C[b,l,n], h as above with h_{-1} = 0 (no D term).

    Inputs: u, delta [B,L,D]; A [D,N]; Bm, Cm [B,L,N]. Output y [B,L,D]."""

    @staticmethod
    def forward(ctx, u, delta, A, Bm, Cm, chunk):
        Bsz, L, D = u.shape
        N = A.shape[1]
        ut = u.transpose(0, 1).contiguous()
        dt = delta.transpose(0, 1).contiguous()
        Bt = Bm.transpose(0, 1).contiguous()
        Ct = Cm.transpose(0, 1).contiguous()
        y = u.new_empty(L, Bsz, D)
        h = u.new_zeros(Bsz, D, N)
        starts = list(range(0, L, chunk))
        h0s = []
        for s in starts:
            e = min(s + chunk, L)
            h0s.append(h)
            _, hs = _chunk_states(ut[s:e], dt[s:e], A, Bt[s:e], h)
            T = e - s
            torch.bmm(hs.view(T * Bsz, D, N), Ct[s:e].reshape(T * Bsz, N, 1),
                      out=y[s:e].view(T * Bsz, D, 1))
            h = hs[-1].clone()
        ctx.save_for_backward(ut, dt, A, Bt, Ct, torch.stack(h0s, 0))
        ctx.chunk = chunk
        return y.transpose(0, 1)

    @staticmethod
    def backward(ctx, gy):
        ut, dt, A, Bt, Ct, h0s = ctx.saved_tensors
        chunk = ctx.chunk
        L, Bsz, D = ut.shape
        N = A.shape[1]
        gyt = gy.transpose(0, 1).contiguous()
        gu = torch.empty_like(ut)
        gdelta = torch.empty_like(dt)
        gB = torch.empty_like(Bt)
        gC = torch.empty_like(Ct)
        gA = torch.zeros_like(A)
        carry = ut.new_zeros(Bsz, D, N)      # dL/dh_{end} arriving from the next chunk, times dA
        starts = list(range(0, L, chunk))
        for ci in range(len(starts) - 1, -1, -1):
            s = starts[ci]
            e = min(s + chunk, L)
            T = e - s
            h0 = h0s[ci]
            u_c, d_c, B_c, C_c, gy_c = ut[s:e], dt[s:e], Bt[s:e], Ct[s:e], gyt[s:e]
            dA, hs = _chunk_states(u_c, d_c, A, B_c, h0)
            # dL/dC_t[n] = sum_d gy_t[d] h_t[d,n]
            torch.bmm(gy_c.reshape(T * Bsz, 1, D), hs.view(T * Bsz, D, N),
                      out=gC[s:e].view(T * Bsz, 1, N))
            # g_t = gy_t C_t + dA_{t+1} g_{t+1}
            g = gy_c.unsqueeze(-1) * C_c.unsqueeze(2)            # [T,B,D,N]
            g[T - 1].add_(carry)
            for t in range(T - 2, -1, -1):
                g[t].addcmul_(dA[t + 1], g[t + 1])
            carry = dA[0] * g[0]
            # h_{t-1} for the chunk (reuse hs storage: shift by one)
            hprev = torch.cat([h0.unsqueeze(0), hs[:-1]], 0)
            del hs
            q = hprev.mul_(g).mul_(dA)                           # dL/d(delta A) per element
            del dA
            # delta*A term
            gdA_delta = (q * A).sum(-1)                            # [T,B,D]  sum_n q A
            gA += torch.einsum("tbdn,tbd->dn", q, d_c)
            del q
            # dBu = (delta u) B : dL/d(delta u) = sum_n g B ; dL/dB = sum_d g (delta u)
            du = d_c * u_c
            g_du = torch.bmm(g.view(T * Bsz, D, N), B_c.reshape(T * Bsz, N, 1)).view(T, Bsz, D)
            torch.bmm(du.reshape(T * Bsz, 1, D), g.view(T * Bsz, D, N),
                      out=gB[s:e].view(T * Bsz, 1, N))
            gu[s:e] = g_du * d_c
            gdelta[s:e] = gdA_delta + g_du * u_c
        return (gu.transpose(0, 1), gdelta.transpose(0, 1), gA,
                gB.transpose(0, 1), gC.transpose(0, 1), None)


# --------------------------------------------------------------------------------------
# Fused C kernel for the same scan (float32), compiled with the system C compiler on first
# use and called through ctypes. Each (batch, 16-channel block) is one task: the forward pass
# keeps only the running state; the backward pass rebuilds the block's state history in a
# local buffer and runs the reverse recurrence. Falls back to SelectiveScan if no compiler.
# --------------------------------------------------------------------------------------

_C_SRC = r"""
#include <math.h>
#include <stdlib.h>
#include <string.h>
#define DB 16
#define NMAX 64

void scan_fwd(const float* u, const float* dl, const float* At, const float* Bm, const float* Cm,
              float* y, int B, int L, int D, int N, int nthreads) {
  int nblk = D / DB;
  #pragma omp parallel for num_threads(nthreads) schedule(dynamic, 4)
  for (int task = 0; task < B * nblk; task++) {
    int b = task / nblk, d0 = (task % nblk) * DB;
    float h[NMAX][DB];
    memset(h, 0, sizeof(h));
    for (int t = 0; t < L; t++) {
      size_t o = ((size_t)b * L + t) * D + d0, on = ((size_t)b * L + t) * N;
      const float *ut = u + o, *dt = dl + o, *Bt = Bm + on, *Ct = Cm + on;
      float acc[DB], dlu[DB];
      for (int d = 0; d < DB; d++) { acc[d] = 0.f; dlu[d] = dt[d] * ut[d]; }
      for (int n = 0; n < N; n++) {
        const float* a = At + (size_t)n * D + d0;
        float bn = Bt[n], cn = Ct[n];
        for (int d = 0; d < DB; d++) {
          float v = expf(dt[d] * a[d]) * h[n][d] + dlu[d] * bn;
          h[n][d] = v;
          acc[d] += v * cn;
        }
      }
      for (int d = 0; d < DB; d++) y[o + d] = acc[d];
    }
  }
}

void scan_bwd(const float* u, const float* dl, const float* At, const float* Bm, const float* Cm,
              const float* gy, float* gu, float* gdl, float* gA_part, float* gB_part, float* gC_part,
              int B, int L, int D, int N, int nthreads) {
  int nblk = D / DB;
  #pragma omp parallel for num_threads(nthreads) schedule(dynamic, 4)
  for (int task = 0; task < B * nblk; task++) {
    int b = task / nblk, blk = task % nblk, d0 = blk * DB;
    float* hist = (float*)malloc(sizeof(float) * (size_t)(L + 1) * N * DB);
    memset(hist, 0, sizeof(float) * (size_t)N * DB);
    for (int t = 0; t < L; t++) {
      size_t o = ((size_t)b * L + t) * D + d0, on = ((size_t)b * L + t) * N;
      const float *ut = u + o, *dt = dl + o, *Bt = Bm + on;
      float* hp = hist + (size_t)t * N * DB;
      float* hn = hp + (size_t)N * DB;
      for (int n = 0; n < N; n++) {
        const float* a = At + (size_t)n * D + d0;
        float bn = Bt[n];
        for (int d = 0; d < DB; d++)
          hn[n * DB + d] = expf(dt[d] * a[d]) * hp[n * DB + d] + dt[d] * ut[d] * bn;
      }
    }
    float g[NMAX][DB], gAl[NMAX][DB];
    memset(g, 0, sizeof(g));
    memset(gAl, 0, sizeof(gAl));
    for (int t = L - 1; t >= 0; t--) {
      size_t o = ((size_t)b * L + t) * D + d0, on = ((size_t)b * L + t) * N;
      const float *ut = u + o, *dt = dl + o, *Bt = Bm + on, *Ct = Cm + on, *gyt = gy + o;
      const float* hp = hist + (size_t)t * N * DB;
      const float* hc = hp + (size_t)N * DB;
      float gut[DB], gdt[DB];
      for (int d = 0; d < DB; d++) { gut[d] = 0.f; gdt[d] = 0.f; }
      size_t op = (((size_t)blk * B + b) * L + t) * N;
      for (int n = 0; n < N; n++) {
        const float* a = At + (size_t)n * D + d0;
        float bn = Bt[n], cn = Ct[n], gb = 0.f, gc = 0.f;
        for (int d = 0; d < DB; d++) {
          float gv = g[n][d] + gyt[d] * cn;
          gc += gyt[d] * hc[n * DB + d];
          float dA = expf(dt[d] * a[d]);
          float q = gv * hp[n * DB + d] * dA;
          gdt[d] += q * a[d] + gv * bn * ut[d];
          gut[d] += gv * bn * dt[d];
          gAl[n][d] += q * dt[d];
          gb += gv * dt[d] * ut[d];
          g[n][d] = dA * gv;
        }
        gB_part[op + n] = gb;
        gC_part[op + n] = gc;
      }
      for (int d = 0; d < DB; d++) { gu[o + d] = gut[d]; gdl[o + d] = gdt[d]; }
    }
    for (int n = 0; n < N; n++)
      for (int d = 0; d < DB; d++)
        gA_part[((size_t)b * N + n) * D + d0 + d] = gAl[n][d];
    free(hist);
  }
}
"""

_CLIB = None
_CLIB_TRIED = False


def _load_clib():
    global _CLIB, _CLIB_TRIED
    if _CLIB_TRIED:
        return _CLIB
    _CLIB_TRIED = True
    if os.environ.get("TRAIN_SCAN_NO_C"):
        return None
    import ctypes
    import hashlib
    import subprocess
    import tempfile
    h = hashlib.sha256(_C_SRC.encode()).hexdigest()[:16]
    d = os.path.join(tempfile.gettempdir(), "train_scan_build")
    os.makedirs(d, exist_ok=True)
    so = os.path.join(d, f"scan_{h}.so")
    if not os.path.exists(so):
        src = os.path.join(d, f"scan_{h}.c")
        with open(src, "w") as f:
            f.write(_C_SRC)
        tmp = so + f".{os.getpid()}.tmp"
        cmd = ["cc", "-O3", "-march=native", "-ffast-math", "-fopenmp", "-fPIC", "-shared", src, "-o", tmp, "-lm"]
        try:
            subprocess.run(cmd, check=True, capture_output=True)
            os.replace(tmp, so)
        except Exception as ex:  # noqa: BLE001
            print(f"[trainable_blackmamba] C scan kernel not built ({ex}); using the PyTorch scan", file=sys.stderr)
            return None
    lib = ctypes.CDLL(so)
    P, I = ctypes.c_void_p, ctypes.c_int
    lib.scan_fwd.argtypes = [P] * 6 + [I] * 5
    lib.scan_bwd.argtypes = [P] * 11 + [I] * 5
    _CLIB = lib
    return lib


def _ptr(t):
    return t.data_ptr()


class SelectiveScanC(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, Bm, Cm):
        lib = _load_clib()
        u, delta, Bm, Cm = (t.contiguous() for t in (u, delta, Bm, Cm))
        At = A.t().contiguous()
        Bsz, L, D = u.shape
        N = A.shape[1]
        y = torch.empty_like(u)
        lib.scan_fwd(_ptr(u), _ptr(delta), _ptr(At), _ptr(Bm), _ptr(Cm), _ptr(y),
                     Bsz, L, D, N, torch.get_num_threads())
        ctx.save_for_backward(u, delta, At, Bm, Cm)
        return y

    @staticmethod
    def backward(ctx, gy):
        lib = _load_clib()
        u, delta, At, Bm, Cm = ctx.saved_tensors
        gy = gy.contiguous()
        Bsz, L, D = u.shape
        N = At.shape[0]
        nblk = D // 16
        gu = torch.empty_like(u)
        gdl = torch.empty_like(u)
        gA_part = u.new_empty(Bsz, N, D)
        gB_part = u.new_empty(nblk, Bsz, L, N)
        gC_part = u.new_empty(nblk, Bsz, L, N)
        lib.scan_bwd(_ptr(u), _ptr(delta), _ptr(At), _ptr(Bm), _ptr(Cm), _ptr(gy),
                     _ptr(gu), _ptr(gdl), _ptr(gA_part), _ptr(gB_part), _ptr(gC_part),
                     Bsz, L, D, N, torch.get_num_threads())
        return gu, gdl, gA_part.sum(0).t(), gB_part.sum(0), gC_part.sum(0)


def c_scan_usable(u, A):
    return (u.dtype == torch.float32 and A.dtype == torch.float32 and u.device.type == "cpu"
            and u.shape[-1] % 16 == 0 and A.shape[1] <= 64 and _load_clib() is not None)


def selective_scan(u, delta, A, Bm, Cm, chunk=64, use_c=True):
    if use_c and c_scan_usable(u, A):
        return SelectiveScanC.apply(u, delta, A, Bm, Cm)
    return SelectiveScan.apply(u, delta, A, Bm, Cm, chunk)


def selective_scan_naive(u, delta, A, Bm, Cm):
    """Plain autograd version (tests only)."""
    Bsz, L, D = u.shape
    h = u.new_zeros(Bsz, D, A.shape[1])
    ys = []
    for t in range(L):
        h = torch.exp(delta[:, t, :, None] * A) * h + (delta[:, t] * u[:, t])[:, :, None] * Bm[:, t, None, :]
        ys.append((h * Cm[:, t, None, :]).sum(-1))
    return torch.stack(ys, 1)


# --------------------------------------------------------------------------------------
# Modules (attribute names chosen so state_dict keys are the published ones)
# --------------------------------------------------------------------------------------

class RMSNorm(nn.Module):
    def __init__(self, H):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(H))

    def forward(self, x):
        return x / torch.sqrt(torch.mean(x * x, dim=-1, keepdim=True) + EPS) * self.weight


class MambaMixer(nn.Module):
    def __init__(self, H, Di, N, K, R, bias, n_layers, scan_chunk=64):
        super().__init__()
        self.Di, self.N, self.K, self.R = Di, N, K, R
        self.scan_chunk = scan_chunk
        self.in_proj = nn.Linear(H, 2 * Di, bias=bias)
        self.conv1d = nn.Conv1d(Di, Di, K, groups=Di, padding=K - 1, bias=True)
        self.x_proj = nn.Linear(Di, R + 2 * N, bias=False)
        self.dt_proj = nn.Linear(R, Di, bias=True)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(Di, 1))
        self.D = nn.Parameter(torch.ones(Di))
        self.out_proj = nn.Linear(Di, H, bias=bias)
        # Mamba initialisation: dt in [1e-3, 0.1] log-uniform, dt_proj weight ~ U(+-R^-0.5)
        with torch.no_grad():
            nn.init.uniform_(self.dt_proj.weight, -R ** -0.5, R ** -0.5)
            dt = torch.exp(torch.rand(Di) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3)).clamp(min=1e-4)
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
            self.out_proj.weight.div_(math.sqrt(n_layers))     # prenorm residual rescale
            for lin in (self.in_proj, self.out_proj):
                if lin.bias is not None:
                    lin.bias.zero_()

    def forward(self, h):                                        # h [B, L, H]
        Bsz, L, _ = h.shape
        xz = self.in_proj(h)
        u, z = xz[..., :self.Di], xz[..., self.Di:]
        u = self.conv1d(u.transpose(1, 2))[..., :L].transpose(1, 2)
        u = F.silu(u)
        xdbl = self.x_proj(u)
        dt_r, Bm, Cm = xdbl.split([self.R, self.N, self.N], dim=-1)
        delta = F.softplus(self.dt_proj(dt_r))
        A = -torch.exp(self.A_log)
        y = selective_scan(u, delta, A, Bm, Cm, self.scan_chunk) + self.D * u
        return self.out_proj(y * F.silu(z))


class Expert(nn.Module):
    def __init__(self, H, Fh, swiglu, bias, n_layers):
        super().__init__()
        self.Fh, self.swiglu = Fh, swiglu
        self.linear_fc1 = nn.Linear(H, 2 * Fh if swiglu else Fh, bias=bias)
        self.linear_fc2 = nn.Linear(Fh, H, bias=bias)
        with torch.no_grad():
            self.linear_fc2.weight.div_(math.sqrt(n_layers))
            for lin in (self.linear_fc1, self.linear_fc2):
                if lin.bias is not None:
                    lin.bias.zero_()

    def forward(self, h):
        a = self.linear_fc1(h)
        if self.swiglu:
            g = F.gelu(a[..., :self.Fh], approximate="none") * a[..., self.Fh:]
        else:
            g = F.gelu(a, approximate="none")
        return self.linear_fc2(g)


class MoEMixer(nn.Module):
    """Top-1 Switch MoE with a sigmoid router (with bias); output scaled by p[e]."""

    def __init__(self, H, E, Fh, swiglu, bias, n_layers):
        super().__init__()
        self.E = E
        self.router = nn.Linear(H, E, bias=True)
        with torch.no_grad():
            nn.init.normal_(self.router.weight, std=0.02)
            self.router.bias.zero_()
        self.local_experts = nn.ModuleList(Expert(H, Fh, swiglu, bias, n_layers) for _ in range(E))
        self.last_stats = None

    def forward(self, h):
        shp = h.shape
        x = h.reshape(-1, shp[-1])
        p = torch.sigmoid(self.router(x))                          # [T, E]
        e = torch.argmax(p, dim=-1)                                # first max on ties
        out = torch.zeros_like(x)
        order = torch.argsort(e, stable=True)
        counts = torch.bincount(e, minlength=self.E)
        pos = 0
        for ex, c in enumerate(counts.tolist()):
            if c == 0:
                continue
            rows = order[pos:pos + c]
            pos += c
            y = self.local_experts[ex](x[rows]) * p[rows, ex].unsqueeze(-1)
            out.index_copy_(0, rows, y)
        # Switch-style load balancing: E * sum_e f_e * P_e, f_e = token fraction routed to e
        # (no gradient), P_e = mean over tokens of p_e normalised over experts (sigmoid router).
        frac = counts.to(x.dtype) / x.shape[0]
        pn = p / p.sum(-1, keepdim=True)
        self.last_stats = (frac.detach(), self.E * (frac * pn.mean(0)).sum())
        return out.view(shp)


class Layer(nn.Module):
    def __init__(self, mixer, H):
        super().__init__()
        self.norm = RMSNorm(H)
        self.mixer = mixer


class _Holder(nn.Module):
    pass


class TrainBlackMamba(nn.Module):
    def __init__(self, config: dict, vocab_rows: int, scan_chunk: int = 64):
        super().__init__()
        self.config = dict(config)
        H = int(config["hidden_size"]); N = int(config["state_size"]); K = int(config["conv_dimension"])
        Di = int(config["expansion_factor"]) * H; Fh = int(config["ffn_hidden_size"])
        R = math.ceil(H / 16)
        bias = bool(config.get("add_bias_linear", False)); sw = bool(config.get("swiglu", False))
        if bias:
            raise NotImplementedError("add_bias_linear=true (output_layer.bias) not supported here")
        nl = int(config["num_layers"])
        self.embedding = _Holder()
        self.embedding.word_embeddings = nn.Embedding(vocab_rows, H)
        nn.init.normal_(self.embedding.word_embeddings.weight, std=0.02)
        self.decoder = _Holder()
        layers = []
        self.kinds = []
        for s in config["mamba_moe_layers"]:
            s = str(s)
            if s == "r":
                layers.append(Layer(MambaMixer(H, Di, N, K, R, bias, nl, scan_chunk), H))
                self.kinds.append("r")
            else:
                layers.append(Layer(MoEMixer(H, int(s), Fh, sw, bias, nl), H))
                self.kinds.append("moe")
        assert len(layers) == nl
        self.decoder.layers = nn.ModuleList(layers)
        self.decoder.final_layernorm = nn.LayerNorm(H, eps=EPS)

    def forward(self, ids):                                        # ids [B, L] -> logits [B, L, V]
        x = self.embedding.word_embeddings(ids)
        for layer in self.decoder.layers:
            x = x + layer.mixer(layer.norm(x))
        y = self.decoder.final_layernorm(x)
        return y @ self.embedding.word_embeddings.weight.T

    def moe_stats(self):
        """[(layer index, token fractions [E], aux loss)] from the last forward."""
        return [(i, *l.mixer.last_stats) for i, l in enumerate(self.decoder.layers)
                if isinstance(l.mixer, MoEMixer) and l.mixer.last_stats is not None]


# --------------------------------------------------------------------------------------
# Self-test
# --------------------------------------------------------------------------------------

def _rel(a, b):
    a, b = a.detach(), b.detach()
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))


def self_test():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import blackmamba_reference as ref
    ok = True
    torch.manual_seed(0)
    # 1. scan: values and gradients vs naive autograd (float64), chunk not dividing L
    Bsz, L, D, N = 3, 23, 5, 4
    u = torch.randn(Bsz, L, D, dtype=torch.float64, requires_grad=True)
    dl = (torch.rand(Bsz, L, D, dtype=torch.float64) * 0.5 + 0.01).requires_grad_()
    A = (-torch.rand(D, N, dtype=torch.float64) * 3 - 0.1).requires_grad_()
    Bm = torch.randn(Bsz, L, N, dtype=torch.float64, requires_grad=True)
    Cm = torch.randn(Bsz, L, N, dtype=torch.float64, requires_grad=True)
    for chunk in (1, 5, 64):
        y1 = selective_scan(u, dl, A, Bm, Cm, chunk)
        y2 = selective_scan_naive(u, dl, A, Bm, Cm)
        gy = torch.randn_like(y1)
        g1 = torch.autograd.grad(y1, (u, dl, A, Bm, Cm), gy)
        g2 = torch.autograd.grad(y2, (u, dl, A, Bm, Cm), gy)
        r = max([_rel(y1, y2)] + [_rel(a, b) for a, b in zip(g1, g2)])
        good = r < 1e-10
        ok &= good
        print(f"[{'PASS' if good else 'FAIL'}] selective scan chunk={chunk}: max rel err (value, grads) {r:.2e}")
    good = torch.autograd.gradcheck(lambda *a: selective_scan(*a, 4), (u, dl, A, Bm, Cm))
    ok &= good
    print(f"[{'PASS' if good else 'FAIL'}] gradcheck")
    # 1b. fused C kernel (float32) vs naive float64
    if _load_clib() is None:
        print("[SKIP] C scan kernel unavailable")
    else:
        Bsz, L, D, N = 3, 37, 32, 16
        g = torch.Generator().manual_seed(1)
        args64 = [torch.randn(Bsz, L, D, generator=g, dtype=torch.float64),
                  torch.rand(Bsz, L, D, generator=g, dtype=torch.float64) * 0.5 + 0.01,
                  -torch.rand(D, N, generator=g, dtype=torch.float64) * 3 - 0.1,
                  torch.randn(Bsz, L, N, generator=g, dtype=torch.float64),
                  torch.randn(Bsz, L, N, generator=g, dtype=torch.float64)]
        a64 = [a.clone().requires_grad_() for a in args64]
        a32 = [a.float().requires_grad_() for a in args64]
        y64 = selective_scan_naive(*a64)
        y32 = SelectiveScanC.apply(*a32)
        gy = torch.randn(y64.shape, generator=g, dtype=torch.float64)
        g64 = torch.autograd.grad(y64, a64, gy)
        g32 = torch.autograd.grad(y32, a32, gy.float())
        r = max([_rel(y32.double(), y64)] + [_rel(a.double(), b) for a, b in zip(g32, g64)])
        good = r < 1e-5
        ok &= good
        print(f"[{'PASS' if good else 'FAIL'}] C scan kernel (f32) vs naive f64: max rel err (value, grads) {r:.2e}")
    # 2. whole model vs reference, float32 and float64
    cfg = {"num_layers": 4, "mamba_moe_layers": ["r", "4", "r", "4"], "hidden_size": 32, "state_size": 8,
           "conv_dimension": 4, "expansion_factor": 2, "ffn_hidden_size": 24, "vocab_size": 100,
           "add_bias_linear": False, "swiglu": True, "max_sequence_length": 64}
    m = TrainBlackMamba(cfg, 128, scan_chunk=7)
    with torch.no_grad():  # make the router less uniform so all experts get used
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    ids = torch.randint(0, 100, (3, 40))
    for dt in (torch.float64, torch.float32):
        m = m.to(dt)
        with torch.no_grad():
            lt = m(ids)
        rm = ref.BlackMamba(cfg, {k: v.detach() for k, v in m.state_dict().items()}).to(dt)
        lr_ = torch.stack([rm(ids[b].tolist()) for b in range(ids.shape[0])], 0)
        r = _rel(lt, lr_)
        good = r < (1e-12 if dt == torch.float64 else 1e-5)
        ok &= good
        print(f"[{'PASS' if good else 'FAIL'}] model vs reference ({dt}): rel L2 {r:.2e}")
    print("SELF-TEST", "PASSED" if ok else "FAILED")
    return ok


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        torch.set_num_threads(2)
        sys.exit(0 if self_test() else 1)
    print(__doc__)
