#!/usr/bin/env python3
"""How close llama.cpp on THIS machine comes to the shared llama.cpp fixtures (development tool, not CI).

The fixtures in ../shared/fixtures/llamacpp-smollm2 were made by llama.cpp on another machine.
On Q4_1/Q8_0 weights llama.cpp rounds activations to 8 bits before every product, so a change
of Float32 rounding anywhere upstream (another SIMD width for exp, another summation order)
flips some roundings, and the flips compound layer by layer. This script runs the same prompts
through llama.cpp here, with the fixtures' settings, and prints the measures issue 4 asks of
the Swift forward pass, for llama.cpp itself:

    python scripts/llamacpp_selfcheck.py MODEL.gguf ../shared/fixtures/llamacpp-smollm2/logits

Needs llama-cpp-python (0.3.36 used) and numpy.
"""
import json, os, sys
import numpy as np
from llama_cpp import Llama, llama_cpp

model, src = sys.argv[1:3]
print("llama.cpp system info:", llama_cpp.llama_print_system_info().decode())
for name in ("short", "medium", "long"):
    fx = json.load(open(os.path.join(src, name + ".json")))
    ids = fx["ids"]
    ref = np.fromfile(os.path.join(src, fx["last_logits_file"]), dtype="<f4").astype(np.float64)
    llm = Llama(model_path=model, n_ctx=2048, n_batch=512, n_threads=2, n_threads_batch=2, logits_all=True,
                type_k=0, type_v=0, flash_attn=False, verbose=False)
    llm.eval(ids)
    s = np.array(llm.scores[:len(ids)], dtype=np.float64)
    last = s[-1]
    lp = ref - ref.max(); lp -= np.log(np.exp(lp).sum())
    lq = last - last.max(); lq -= np.log(np.exp(lq).sum())
    kl = float((np.exp(lp) * (lp - lq)).sum())
    agree = int((s.argmax(-1) == np.array(fx["top1_per_position"])).sum())
    top5 = len(set(np.argsort(-ref)[:5]) & set(np.argsort(-last)[:5]))
    print(f"{name}: {len(ids)} tokens, KL(fixture ‖ llama.cpp here) {kl:.5f} nats, argmax agreement {agree}/{len(ids)} "
          f"({100 * agree / len(ids):.1f} %), top-5 overlap {top5}, max |Δlogit| {np.abs(ref - last).max():.3f}, "
          f"last argmax here {last.argmax()} fixture {ref.argmax()}")
    del llm
