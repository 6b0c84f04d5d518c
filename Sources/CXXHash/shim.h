// libxxhash (Debian: libxxhash-dev, 0.8.x). Used for the kxxHash, kxxHash64
// and kXXH3 block checksums. The bloom-filter hash (XXPH3, the 0.7.2 preview)
// is NOT this library's XXH3: it is implemented in Swift (Util/XXPH3.swift).
#include <xxhash.h>
