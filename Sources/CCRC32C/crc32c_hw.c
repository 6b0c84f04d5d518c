// See include/crc32c_hw.h.
#include "crc32c_hw.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

int strata_crc32c_hw_available(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & bit_SSE4_2) != 0;
}

// Compiled for SSE4.2 whatever the target CPU of the build: the caller
// checks strata_crc32c_hw_available() first.
__attribute__((target("sse4.2")))
uint32_t strata_crc32c_hw_update(uint32_t state, const void *bytes, size_t length) {
    const unsigned char *p = (const unsigned char *)bytes;
    uint64_t c = state;
    // Byte steps up to 8-byte alignment, then 8 bytes per instruction.
    while (length > 0 && ((uintptr_t)p & 7) != 0) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        length--;
    }
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        length -= 8;
    }
    while (length > 0) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        length--;
    }
    return (uint32_t)c;
}

#else

int strata_crc32c_hw_available(void) { return 0; }

uint32_t strata_crc32c_hw_update(uint32_t state, const void *bytes, size_t length) {
    (void)bytes;
    (void)length;
    return state;
}

#endif
