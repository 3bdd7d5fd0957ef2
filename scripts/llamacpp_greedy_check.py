#!/usr/bin/env python3
"""llama.cpp on THIS machine against a shared llama.cpp fixture's greedy continuation, under
teacher forcing (development tool, not CI): after the prompt, at every step compare llama.cpp's
argmax here with the fixture's token, print each difference with both margins, then feed the
fixture's token. Tells whether a difference of ours on this CPU is also llama.cpp's on it.

    python scripts/llamacpp_greedy_check.py MODEL.gguf ../shared/fixtures/llamacpp-gemma3/logits/long.json

Needs llama-cpp-python (0.3.36, as scripts/compare-llamacpp.sh installs it) and numpy. Settings
as the fixtures': Float32 K/V, flash attention off, 2 threads, no BOS added (the ids carry it).
"""
import json, sys
import numpy as np
from llama_cpp import Llama, llama_cpp

model, fixture = sys.argv[1:3]
print("system:", llama_cpp.llama_print_system_info().decode())
fx = json.load(open(fixture))
ids, cont = fx["ids"], fx["greedy_continuation"]
margins = fx.get("greedy_margins")
llm = Llama(model_path=model, n_ctx=4096, n_batch=512, n_threads=2, n_threads_batch=2, logits_all=False,
            type_k=0, type_v=0, flash_attn=False, verbose=False, add_bos=False)
llm.eval(ids)
diff_decided = diff_near = 0
for step, expected in enumerate(cont):
    pointer = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
    logits = np.ctypeslib.as_array(pointer, shape=(llm.n_vocab(),)).astype(np.float64)
    order = np.argsort(-logits)
    ours, margin_here = int(order[0]), float(logits[order[0]] - logits[order[1]])
    m = margins[step] if margins else None
    if ours != expected:
        decided = m is not None and m >= 0.5
        diff_decided += decided; diff_near += not decided
        print(f"step {step}: here {ours} (margin {margin_here:.2f}), fixture {expected} (margin {m})")
    llm.eval([expected])
print(f"{fixture}: {len(cont)} steps, differences at decided steps {diff_decided}, at near-ties {diff_near}")
