// Cache prefetch hint for Swift, which has no prefetch intrinsic of its own.
// Header-only (nothing to link): the compiler inlines it to one PREFETCHT0
// instruction on x86-64 (PRFM on arm64), or to nothing where unsupported.
#ifndef STRATA_PREFETCH_H
#define STRATA_PREFETCH_H

/// Asks the CPU to bring the cache line holding `address` into all cache
/// levels for a read. A hint only: never faults, even on a bad address.
static inline __attribute__((always_inline)) void strata_prefetch_read(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
