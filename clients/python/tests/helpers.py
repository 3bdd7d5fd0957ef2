"""Shared test data: small descriptors and random blocks."""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from kvd_client import Descriptor, ElementType

SMALL = Descriptor(layers=3, query_heads=4, kv_heads=2, head_dim=8,
                   element_type=ElementType.FP16, block_size=4, fingerprint=0xC0FFEE)


def random_blocks(descriptor: Descriptor, layer: int, start: int, count: int, seed: int,
                  ) -> Tuple[List[int], List[int], List[bytes], np.ndarray, np.ndarray]:
    """``count`` blocks of one layer at positions ``start``…: (layers, positions, hashes,
    keys (n, D) float32, payloads (n, 2, kvHeads, blockSize, headDim) float16)."""
    rng = np.random.default_rng(seed)
    keys = rng.standard_normal((count, descriptor.vector_dim)).astype(np.float32)
    payloads = rng.standard_normal((count,) + descriptor.payload_shape).astype(np.float16)
    hashes = [rng.bytes(16) for _ in range(count)]
    return [layer] * count, list(range(start, start + count)), hashes, keys, payloads
