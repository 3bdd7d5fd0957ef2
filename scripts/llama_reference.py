#!/usr/bin/env python3
"""Independent Float64 NumPy forward pass of a `llama` GGUF model (development tool, not CI).

Reads the GGUF with the `gguf` package (`pip install gguf numpy`), dequantises every tensor to
Float64 and runs the textbook Llama computation (RMSNorm, RoPE on adjacent pairs as GGUF llama
files are stored, grouped-query causal attention, SwiGLU, tied output). Used to localise
differences between actqkv's forward pass and llama.cpp's reference logits:

    scripts/llama_reference.py MODEL.gguf FIXTURE.json [--dump DIR]

prints KL(fixture ‖ reference) of the last position and the per-position argmax agreement;
with --dump, writes the residual stream after every layer (`hidden_<layer>.f64`, row-major
tokens × embedding) and the last-position logits (`logits.f64`).
"""
import argparse, json, os, sys
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


def load(path):
    r = GGUFReader(path)
    meta = {}
    for k, f in r.fields.items():
        if k.startswith("llama."):
            meta[k[6:]] = f.contents()
    tensors = {}
    for t in r.tensors:
        a = dequantize(t.data, t.tensor_type).astype(np.float64)
        shape = [int(x) for x in reversed(t.shape)]  # numpy order: rows, columns
        tensors[t.name] = a.reshape(shape) if len(shape) > 1 else a.reshape(-1)
    return meta, tensors


def rms(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def rope(x, positions, base):
    # x: tokens × heads × d; adjacent pairs (2i, 2i+1) rotate by pos · base^(-2i/d).
    d = x.shape[-1]
    inv = base ** (-np.arange(0, d, 2, dtype=np.float64) / d)
    ang = positions[:, None] * inv[None, :]
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * c - b * s
    out[..., 1::2] = a * s + b * c
    return out


def q8(x):
    """Round-trips activations through ggml's 8-bit block format (32 values, Float16 scale)."""
    shp = x.shape
    b = x.reshape(-1, 32)
    d = (np.abs(b).max(-1, keepdims=True) / 127).astype(np.float16).astype(np.float64)
    amax = np.abs(b).max(-1, keepdims=True) / 127
    q = np.round(np.divide(b, amax, out=np.zeros_like(b), where=amax > 0))
    return (q * d).reshape(shp)


def forward(meta, T, ids, dump=None, qact=False):
    A = q8 if qact else (lambda v: v)
    L = meta["block_count"]; H = meta["attention.head_count"]; Hkv = meta["attention.head_count_kv"]
    E = meta["embedding_length"]; d = E // H; eps = meta["attention.layer_norm_rms_epsilon"]
    base = meta.get("rope.freq_base", 10000.0)
    n = len(ids)
    x = T["token_embd.weight"][ids]
    pos = np.arange(n, dtype=np.float64)
    mask = np.triu(np.full((n, n), -np.inf), 1)
    for l in range(L):
        p = f"blk.{l}."
        h = A(rms(x, T[p + "attn_norm.weight"], eps))
        q = (h @ T[p + "attn_q.weight"].T).reshape(n, H, d)
        k = (h @ T[p + "attn_k.weight"].T).reshape(n, Hkv, d)
        v = (h @ T[p + "attn_v.weight"].T).reshape(n, Hkv, d)
        q, k = rope(q, pos, base), rope(k, pos, base)
        out = np.empty((n, H, d))
        for hh in range(H):
            g = hh // (H // Hkv)
            s = q[:, hh, :] @ k[:, g, :].T / np.sqrt(d) + mask
            s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
            out[:, hh, :] = s @ v[:, g, :]
        x = x + A(out.reshape(n, E)) @ T[p + "attn_output.weight"].T
        h = A(rms(x, T[p + "ffn_norm.weight"], eps))
        gt = h @ T[p + "ffn_gate.weight"].T
        up = h @ T[p + "ffn_up.weight"].T
        x = x + A(gt / (1 + np.exp(-gt)) * up) @ T[p + "ffn_down.weight"].T
        if dump: x.tofile(os.path.join(dump, f"hidden_{l}.f64"))
    h = A(rms(x, T["output_norm.weight"], eps))
    W = T.get("output.weight", T["token_embd.weight"])
    return h @ W.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model"); ap.add_argument("fixture"); ap.add_argument("--dump")
    ap.add_argument("--quantize-activations", action="store_true", help="emulate 8-bit block-quantised activations")
    a = ap.parse_args()
    meta, T = load(a.model)
    fx = json.load(open(a.fixture))
    ids = fx["ids"]
    if a.dump: os.makedirs(a.dump, exist_ok=True)
    logits = forward(meta, T, ids, a.dump, a.quantize_activations)
    if a.dump: logits[-1].tofile(os.path.join(a.dump, "logits.f64"))
    ref = np.fromfile(os.path.join(os.path.dirname(a.fixture), fx["last_logits_file"]), dtype="<f4").astype(np.float64)
    last = logits[-1]
    lp = ref - ref.max(); lp -= np.log(np.exp(lp).sum())
    lq = last - last.max(); lq -= np.log(np.exp(lq).sum())
    kl = float((np.exp(lp) * (lp - lq)).sum())
    agree = int((logits.argmax(-1) == np.array(fx["top1_per_position"])).sum())
    top5 = len(set(np.argsort(-ref)[:5]) & set(np.argsort(-last)[:5]))
    print(f"{len(ids)} tokens: KL {kl:.5f} nats, argmax agreement {agree}/{len(ids)}, top-5 overlap {top5}, "
          f"max|dlogit| {np.abs(ref - last).max():.3f}, last argmax ours {last.argmax()} theirs {ref.argmax()}")


if __name__ == "__main__":
    main()
