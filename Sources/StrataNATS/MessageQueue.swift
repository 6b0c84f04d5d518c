import Foundation

/// A FIFO of delivered messages that a blocking reader waits on (with a
/// deadline). The event loop pushes; one pipeline or test thread pops.
/// `fail` ends the queue: later pops throw once the buffered messages are
/// taken.
///
/// Thread safety: all members are safe from any thread (one NSCondition).
final class MessageQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [NATSMessage] = []
    private var head = 0
    private var failure: NATSError?

    func push(_ message: NATSMessage) {
        condition.lock()
        items.append(message)
        condition.signal()
        condition.unlock()
    }

    /// Ends the queue with `error` (the first error wins).
    func fail(_ error: NATSError) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    /// The next message, waiting until `deadline`; nil when it passes first.
    /// Throws the queue's error once it has failed and is drained.
    func pop(until deadline: Date) throws(NATSError) -> NATSMessage? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count {
            if let failure { throw failure }
            if !condition.wait(until: deadline) && head == items.count {
                if let failure { throw failure }
                return nil
            }
        }
        let message = items[head]
        head += 1
        if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return message
    }
}
