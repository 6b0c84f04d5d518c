#if STRATA_TSAN
import Glibc

/// A value behind a lock: `Synchronization.Mutex` in every normal build.
///
/// This variant exists for ThreadSanitizer runs only (built with
/// `-Xswiftc -DSTRATA_TSAN`, see tools/run-tsan.sh). The Synchronization
/// library is not compiled with TSan, so TSan cannot see `Mutex`'s
/// acquire/release and reports every access under it as a race (checked: a
/// four-thread counter behind a `Mutex` counts exactly, yet TSan reports an
/// access race). A pthread mutex is intercepted by TSan, so this variant lets
/// the sanitizer judge the engine's real synchronization.
///
/// Same contract as `Mutex`: `withLock` runs `body` with exclusive access.
package final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched while `mutex` is held.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    package init(_ initialValue: Value) {
        value = initialValue
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
#else
import Synchronization

/// A value behind a lock: `Synchronization.Mutex`. ThreadSanitizer builds
/// (`-DSTRATA_TSAN`) swap in a pthread-based lock TSan can see; see the
/// other branch of this file.
package typealias Locked<Value> = Mutex<Value>
#endif
