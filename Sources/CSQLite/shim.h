// The system SQLite library's C API (Debian: libsqlite3-dev), for the
// pipeline's transactional SQLite sink (StrataStreamsSQLite).
#include <sqlite3.h>
