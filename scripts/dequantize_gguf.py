#!/usr/bin/env python3
"""Writes a copy of a GGUF file with every tensor dequantised to Float32 (development tool).

Usage: python scripts/dequantize_gguf.py IN.gguf OUT.gguf (needs `pip install gguf numpy`).
Used with scripts/llamacpp_f32_fixtures.py to get llama.cpp's exact (unquantised-activation) logits.
"""
import sys, numpy as np, gguf
from gguf.quants import dequantize
r = gguf.GGUFReader(sys.argv[1])
w = gguf.GGUFWriter(sys.argv[2], arch="llama")
for field in r.fields.values():
    if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith('GGUF.'): continue
    vt = field.types[0]; st = field.types[-1] if vt == gguf.GGUFValueType.ARRAY else None
    if field.name == 'general.file_type': w.add_key_value(field.name, 0, vt); continue
    w.add_key_value(field.name, field.contents(), vt, sub_type=st)
for t in r.tensors:
    a = dequantize(t.data, t.tensor_type).astype(np.float32).reshape([int(x) for x in reversed(t.shape)])
    w.add_tensor(t.name, a)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
