#ifndef CSTOREKERNELS_H
#define CSTOREKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial and final XOR 0xFFFFFFFF) of
/// `count` bytes. Uses the SSE4.2 `crc32` instruction when the CPU has it (checked once at run
/// time), else a slicing-by-8 table. Check value: "123456789" -> 0xE3069283.
uint32_t csk_crc32c(const void *bytes, size_t count);

/// The table implementation of `csk_crc32c`, whatever the CPU (tests compare the two paths).
uint32_t csk_crc32c_portable(const void *bytes, size_t count);

/// 1 when `csk_crc32c` uses the SSE4.2 instruction.
int csk_crc32c_uses_hardware(void);

/// Byte-plane shuffle of 16-bit elements: the `count / 2` low bytes first, then the high bytes;
/// an odd trailing byte is copied unchanged. `source` and `destination` must not overlap.
void csk_shuffle16(const uint8_t *source, uint8_t *destination, size_t count);

/// Inverse of `csk_shuffle16`.
void csk_unshuffle16(const uint8_t *source, uint8_t *destination, size_t count);

#endif
