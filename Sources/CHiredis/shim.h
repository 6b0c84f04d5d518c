// hiredis' synchronous C API (Debian: libhiredis-dev; pkg-config "hiredis"
// adds -I/usr/include/hiredis), used by the pipeline's Redis sink.
#include <hiredis.h>
