// libFuzzer's driver entry point (compiler-rt FuzzerInterface.h), linked in
// by -sanitize=fuzzer. The fuzz executables call it from their own main
// (SwiftPM renames an executable's main, so libFuzzer's cannot be used).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
