import Testing
@testable import Strata

/// The background-error policy table (Database+Errors.swift), one row per
/// error class and place; the behaviour of a database in that state is
/// covered by BackgroundErrorTests, WriteFailureTests, ManifestFailureTests
/// and DamagedContentsTests.
@Suite struct BackgroundErrorPolicyTests {
    typealias Reason = Database.BackgroundErrorReason
    static let everywhere: [Reason] = [.walWrite, .walSwitch, .manifestWrite, .backgroundWork, .manualCompaction]

    @Test("I/O errors and corruption stop writes wherever they happen; the error kept is the error given")
    func ioAndCorruptionStop() {
        for reason in Self.everywhere {
            for error in [StrataError.ioError("disk", file: "/db/000007.log", offset: 12),
                          StrataError.corruption("bad key", file: "/db/000009.sst", offset: 4096)] {
                let kept = Database.backgroundError(for: error, reason: reason)
                #expect(kept?.kind == error.kind && kept?.file == error.file && kept?.offset == error.offset,
                        "\(error.kind) at \(reason)")
            }
        }
    }

    @Test("closing never stops writes")
    func closedIsIgnored() {
        for reason in Self.everywhere {
            #expect(Database.backgroundError(for: StrataError(.closed, "closing"), reason: reason) == nil)
        }
    }

    @Test("other errors stop writes only when a background thread hit them (it would retry forever)")
    func otherKinds() {
        for kind in [StrataError.Kind.invalidArgument, .notSupported, .busy] {
            let error = StrataError(kind, "refused")
            #expect(Database.backgroundError(for: error, reason: .backgroundWork)?.kind == kind)
            for reason in [Reason.walWrite, .walSwitch, .manifestWrite, .manualCompaction] {
                #expect(Database.backgroundError(for: error, reason: reason) == nil, "\(kind) at \(reason)")
            }
        }
    }

    struct Foreign: Error {}

    @Test("a non-engine error from a background thread stops writes as an I/O error; elsewhere it does not")
    func foreignErrors() {
        #expect(Database.backgroundError(for: Foreign(), reason: .backgroundWork)?.kind == .ioError)
        #expect(Database.backgroundError(for: Foreign(), reason: .walWrite) == nil)
    }
}
