// Shared definitions of the CActQKVKernels sources (not part of the public header).
#pragma once
#include "CActQKVKernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define AQS_X86 1
// Functions compiled for a level; only called after aqs_effective_level() confirmed the CPU.
#define AQS_AVX2 __attribute__((target("avx2,fma,f16c")))
#define AQS_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#else
#define AQS_X86 0
#endif

// Scalar fp16/bf16 conversions: the shared CHalfFloat header (chf_…).
#include <CHalfFloat.h>
