// libsnappy's C API (Debian: libsnappy-dev). Strata uses raw snappy blocks,
// exactly as RocksDB's kSnappyCompression does.
#include <snappy-c.h>
