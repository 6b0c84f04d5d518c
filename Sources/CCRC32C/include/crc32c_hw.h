// CRC-32C (Castagnoli) with the CPU's CRC32 instruction (x86-64 SSE4.2).
// Swift has no access to that instruction; this small C file gives it one.
// The software path stays in Swift (CRC32C.swift) for CPUs without it.
#ifndef STRATA_CRC32C_HW_H
#define STRATA_CRC32C_HW_H

#include <stddef.h>
#include <stdint.h>

/// 1 if this CPU has the CRC32 instruction (SSE4.2 on x86-64), else 0.
int strata_crc32c_hw_available(void);

/// Extends the raw (un-inverted) CRC state `state` with `length` bytes at
/// `bytes`: the caller passes ~crc and inverts the result, as the software
/// path does. Only call when strata_crc32c_hw_available() returned 1.
uint32_t strata_crc32c_hw_update(uint32_t state, const void *bytes, size_t length);

#endif
