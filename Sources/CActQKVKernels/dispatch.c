// Run-time choice of the kernel level from the CPU's features (cached after the first call).
#include "internal.h"

static int best_level_state = -1;

int aqs_best_level(void) {
    int state = __atomic_load_n(&best_level_state, __ATOMIC_RELAXED);
    if (state < 0) {
        state = 0;
#if AQS_X86
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
            state = 1;
            if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl")) {
                state = 2;
            }
        }
#endif
        __atomic_store_n(&best_level_state, state, __ATOMIC_RELAXED);
    }
    return state;
}

int aqs_effective_level(int requested) {
    int best = aqs_best_level();
    return (requested < 0 || requested > best) ? best : requested;
}
