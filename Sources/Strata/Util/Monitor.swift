import Glibc

/// A mutex with a condition variable (pthreads), for state that threads
/// must wait on: the write queue, stalls, flush completion.
/// `Synchronization.Mutex` has no condition variable, hence this type.
/// Further conditions on the same mutex (`Condition`) let a group of
/// waiters (background threads) sleep through broadcasts meant for others.
///
/// Thread safety: that is its purpose. The pthread objects live in heap
/// memory that never moves, as POSIX requires.
package final class Monitor: @unchecked Sendable {
    // @unchecked: the pthread objects are only touched through pthread calls,
    // which are thread-safe by contract.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    /// A new, unlocked monitor.
    package init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Takes the lock.
    package func lock() { pthread_mutex_lock(mutex) }
    /// Releases the lock.
    package func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` with the lock held.
    @inline(__always)
    package func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Releases the lock, waits for a broadcast or signal, retakes the lock.
    /// Spurious wake-ups happen: wait in a loop on the real condition.
    package func wait() { pthread_cond_wait(condition, mutex) }

    /// Like `wait`, but returns after at most `nanoseconds`.
    package func wait(nanoseconds: Int64) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        var total = Int64(now.tv_nsec) + nanoseconds
        var deadline = now
        deadline.tv_sec += Int(total / 1_000_000_000)
        total %= 1_000_000_000
        deadline.tv_nsec = Int(total)
        pthread_cond_timedwait(condition, mutex, &deadline)
    }

    /// Wakes every waiter.
    package func broadcast() { pthread_cond_broadcast(condition) }
    /// Wakes one waiter.
    package func signal() { pthread_cond_signal(condition) }

    /// A second condition variable used with this monitor's mutex.
    /// Thread safety: pthread calls only.
    package final class Condition: @unchecked Sendable {
        fileprivate let condition: UnsafeMutablePointer<pthread_cond_t>

        /// A new condition.
        package init() {
            condition = .allocate(capacity: 1)
            var attributes = pthread_condattr_t()
            pthread_condattr_init(&attributes)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
            pthread_cond_init(condition, &attributes)
            pthread_condattr_destroy(&attributes)
        }

        deinit {
            pthread_cond_destroy(condition)
            condition.deallocate()
        }
    }

    /// Like `wait()`, on `condition` instead of the monitor's own. The lock
    /// must be held.
    package func wait(_ condition: Condition) { pthread_cond_wait(condition.condition, mutex) }
    /// Wakes every waiter on `condition`.
    package func broadcast(_ condition: Condition) { pthread_cond_broadcast(condition.condition) }
}
