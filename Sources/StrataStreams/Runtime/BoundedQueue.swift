import Foundation

/// A blocking FIFO of bounded capacity between two threads: `push` waits
/// while it is full (backpressure), `pop` waits while it is empty.
///
/// @unchecked Sendable: every access to `items` holds `condition`'s lock.
final class BoundedQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Appends `element`, waiting while the queue is full; returns the
    /// nanoseconds it waited (0 when there was room: no clock read then).
    @discardableResult
    func push(_ element: Element) -> UInt64 {
        condition.lock()
        var waited: UInt64 = 0
        if items.count - head >= capacity {
            let start = DispatchTime.now().uptimeNanoseconds
            while items.count - head >= capacity { condition.wait() }
            waited = DispatchTime.now().uptimeNanoseconds &- start
        }
        items.append(element)
        condition.broadcast()
        condition.unlock()
        return waited
    }

    func pop() -> Element {
        condition.lock()
        while items.count == head { condition.wait() }
        let element = items[head]
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        condition.unlock()
        return element
    }
}

/// Lets values cross to a partition thread. @unchecked: each value is
/// handed over once and then used by the receiving thread only.
struct Handoff<Value>: @unchecked Sendable {
    let value: Value
}
