import Testing
@testable import StrataStreams

/// How the pipeline measures its source's backpressure
/// (`PipelineSummary.backpressureSeconds`, `longestBackpressureSeconds`):
/// waits less than `mergeGapNanoseconds` of running apart are one stretch.
/// Synthetic instants, no clock.
@Suite("Backpressure stretches")
struct BackpressureStretchesTests {
    static let ms: UInt64 = 1_000_000

    @Test("no wait: nothing; one wait: its length")
    func single() {
        var b = BackpressureStretches()
        b.waited(0, endingAt: 5 * Self.ms)
        #expect(b.totalNanoseconds == 0 && b.longestNanoseconds == 0)
        b.waited(7 * Self.ms, endingAt: 100 * Self.ms)
        #expect(b.totalNanoseconds == 7 * Self.ms && b.longestNanoseconds == 7 * Self.ms)
    }

    @Test("close waits merge into one stretch (gaps included); a long run of the source ends it")
    func merging() {
        var b = BackpressureStretches()
        // 100 waits of 9 ms, 1 ms of running between them: one stretch of 999 ms.
        var t: UInt64 = 1_000 * Self.ms
        for _ in 0..<100 {
            t += 9 * Self.ms
            b.waited(9 * Self.ms, endingAt: t)
            t += Self.ms
        }
        #expect(b.totalNanoseconds == 900 * Self.ms)
        #expect(b.longestNanoseconds == 999 * Self.ms)
        // The source runs freely for longer than the merge gap, then waits again briefly.
        t += BackpressureStretches.mergeGapNanoseconds + Self.ms
        b.waited(3 * Self.ms, endingAt: t + 3 * Self.ms)
        #expect(b.totalNanoseconds == 903 * Self.ms)
        #expect(b.longestNanoseconds == 999 * Self.ms)
        // A later, longer stretch (starting a second after the last wait ended) takes over.
        t += 3 * Self.ms + 2_500 * Self.ms
        b.waited(1_500 * Self.ms, endingAt: t)
        #expect(b.longestNanoseconds == 1_500 * Self.ms)
    }

    @Test("a wait exactly the merge gap after the last one still joins it")
    func boundary() {
        var b = BackpressureStretches()
        b.waited(10 * Self.ms, endingAt: 10 * Self.ms)
        let gap = BackpressureStretches.mergeGapNanoseconds
        b.waited(5 * Self.ms, endingAt: 10 * Self.ms + gap + 5 * Self.ms)
        #expect(b.longestNanoseconds == 15 * Self.ms + gap)
        #expect(b.totalNanoseconds == 15 * Self.ms)
    }
}
