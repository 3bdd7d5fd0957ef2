#!/usr/bin/env python3
"""Writes llama.cpp's logits on the Float32-dequantised model (development tool, not CI).

llama.cpp multiplies Q4_1/Q8_0 weights with 8-bit-quantised activations, so its logits on the
quantised file differ from any exact computation by quantisation noise. On a GGUF whose tensors
are all dequantised to Float32 (scripts/dequantize_gguf.py) it computes the exact function, and
the forward pass must match it tightly. For each llama.cpp fixture prompt this writes
`<name>.json` (per-position argmax and top-2 margin) and `<name>.f32` (last-position logits):

    python scripts/dequantize_gguf.py MODEL.Q4_1.gguf /tmp/model-f32.gguf
    python scripts/llamacpp_f32_fixtures.py /tmp/model-f32.gguf FIXTURES/llamacpp-smollm2/logits OUT_DIR

Settings as in the quantised fixtures: F32 K/V cache, flash attention off, 2 threads, no BOS.
Needs llama-cpp-python (0.3.36 used) and numpy.
"""
import json, os, sys
import numpy as np
from llama_cpp import Llama

model, src, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
for name in ("short", "medium", "long"):
    ids = json.load(open(os.path.join(src, name + ".json")))["ids"]
    llm = Llama(model_path=model, n_ctx=2048, n_batch=512, n_threads=2, n_threads_batch=2, logits_all=True,
                type_k=0, type_v=0, flash_attn=False, verbose=False)
    llm.eval(ids)
    s = np.array(llm.scores[:len(ids)], dtype=np.float32)
    top2 = np.sort(s, axis=-1)[:, -2:]
    s[-1].astype("<f4").tofile(os.path.join(out, name + ".f32"))
    json.dump({"n_tokens": len(ids), "top1_per_position": s.argmax(-1).tolist(),
               "top2_margin_per_position": [round(float(a - b), 4) for b, a in top2],
               "last_logits_file": name + ".f32"}, open(os.path.join(out, name + ".json"), "w"))
    print(name, len(ids), "tokens")
    del llm
