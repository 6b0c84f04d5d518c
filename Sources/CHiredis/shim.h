// hiredis' synchronous C API (Debian: libhiredis-dev), used by the
// pipeline's Redis sink. Included by its path under /usr/include rather
// than through pkg-config: Debian's hiredis.pc adds -D_FILE_OFFSET_BITS=64,
// which SwiftPM refuses with a warning on every build.
#include <hiredis/hiredis.h>
