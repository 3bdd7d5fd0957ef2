#include "CStoreKernels.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define CSK_X86 1
#else
#define CSK_X86 0
#endif

// MARK: - CRC-32C

static uint32_t crc_tables[8][256];
static int crc_tables_ready;

static void build_tables(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_tables[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int k = 1; k < 8; k++) crc_tables[k][i] = (crc_tables[k - 1][i] >> 8) ^ crc_tables[0][crc_tables[k - 1][i] & 0xff];
    __atomic_store_n(&crc_tables_ready, 1, __ATOMIC_RELEASE);
}

uint32_t csk_crc32c_portable(const void *bytes, size_t count) {
    if (!__atomic_load_n(&crc_tables_ready, __ATOMIC_ACQUIRE)) build_tables();  // idempotent
    const uint8_t *p = bytes;
    uint32_t crc = 0xFFFFFFFFu;
    while (count >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo ^= crc;
        crc = crc_tables[7][lo & 0xff] ^ crc_tables[6][(lo >> 8) & 0xff] ^ crc_tables[5][(lo >> 16) & 0xff] ^
              crc_tables[4][lo >> 24] ^ crc_tables[3][hi & 0xff] ^ crc_tables[2][(hi >> 8) & 0xff] ^
              crc_tables[1][(hi >> 16) & 0xff] ^ crc_tables[0][hi >> 24];
        p += 8;
        count -= 8;
    }
    while (count--) crc = (crc >> 8) ^ crc_tables[0][(crc ^ *p++) & 0xff];
    return crc ^ 0xFFFFFFFFu;
}

#if CSK_X86
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(const void *bytes, size_t count) {
    const uint8_t *p = bytes;
    uint64_t crc = 0xFFFFFFFFu;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        crc = _mm_crc32_u64(crc, word);
        p += 8;
        count -= 8;
    }
    uint32_t c = (uint32_t)crc;
    while (count--) c = _mm_crc32_u8(c, *p++);
    return c ^ 0xFFFFFFFFu;
}
#endif

int csk_crc32c_uses_hardware(void) {
#if CSK_X86
    static int state = -1;
    int s = __atomic_load_n(&state, __ATOMIC_RELAXED);
    if (s < 0) {
        __builtin_cpu_init();
        s = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&state, s, __ATOMIC_RELAXED);
    }
    return s;
#else
    return 0;
#endif
}

uint32_t csk_crc32c(const void *bytes, size_t count) {
#if CSK_X86
    if (csk_crc32c_uses_hardware()) return crc32c_sse42(bytes, count);
#endif
    return csk_crc32c_portable(bytes, count);
}

// MARK: - Byte-plane shuffle (SSE2 is part of x86-64, so no run-time check)

void csk_shuffle16(const uint8_t *source, uint8_t *destination, size_t count) {
    size_t n = count / 2, i = 0;
    uint8_t *low = destination, *high = destination + n;
#if CSK_X86
    const __m128i mask = _mm_set1_epi16(0x00ff);
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(source + 2 * i));
        __m128i b = _mm_loadu_si128((const __m128i *)(source + 2 * i + 16));
        _mm_storeu_si128((__m128i *)(low + i), _mm_packus_epi16(_mm_and_si128(a, mask), _mm_and_si128(b, mask)));
        _mm_storeu_si128((__m128i *)(high + i), _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8)));
    }
#endif
    for (; i < n; i++) {
        low[i] = source[2 * i];
        high[i] = source[2 * i + 1];
    }
    if (count % 2) destination[2 * n] = source[2 * n];
}

void csk_unshuffle16(const uint8_t *source, uint8_t *destination, size_t count) {
    size_t n = count / 2, i = 0;
    const uint8_t *low = source, *high = source + n;
#if CSK_X86
    for (; i + 16 <= n; i += 16) {
        __m128i l = _mm_loadu_si128((const __m128i *)(low + i));
        __m128i h = _mm_loadu_si128((const __m128i *)(high + i));
        _mm_storeu_si128((__m128i *)(destination + 2 * i), _mm_unpacklo_epi8(l, h));
        _mm_storeu_si128((__m128i *)(destination + 2 * i + 16), _mm_unpackhi_epi8(l, h));
    }
#endif
    for (; i < n; i++) {
        destination[2 * i] = low[i];
        destination[2 * i + 1] = high[i];
    }
    if (count % 2) destination[2 * n] = source[2 * n];
}
