import Glibc
import Strata
#if STRATA_FUZZ
import CLibFuzzer
#endif

/// The `main` of the fuzz executables.
///
/// Built with `-sanitize=fuzzer -DSTRATA_FUZZ` (tools/run-fuzz.sh), it
/// hands the command line to libFuzzer's driver with the target's body.
/// In a plain build it replays inputs, so a corpus or a crash input runs
/// without libFuzzer, and writes the seed corpus:
///
///     fuzz-NAME FILE|DIR ...                 run each file (a directory: each file in it)
///     fuzz-NAME --make-corpus=DIR [--vectors=DIR]   write the seeds into DIR
#if STRATA_FUZZ
/// The body libFuzzer's C callback calls (a C callback cannot capture). Set
/// once before the driver starts; libFuzzer calls back on one thread.
nonisolated(unsafe) private var libFuzzerBody: (@Sendable (UnsafeRawBufferPointer) -> Void)?

/// libFuzzer's callback by its conventional name (its archive's own `main`
/// refers to it, and the link keeps every section, so it must exist).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    libFuzzerBody!(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#endif

public enum FuzzMain {
    /// Runs target `name` with the process's command line; returns the exit status.
    public static func run(target name: String) -> Int32 {
        #if STRATA_FUZZ
        guard let body = FuzzTargets.named(name) else { return 2 }
        libFuzzerBody = body
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        return LLVMFuzzerRunDriver(&argc, &argv, fuzzerTestOneInput)
        #else
        return replay(target: name)
        #endif
    }

    /// Replays files or writes the seed corpus; returns the exit status.
    static func replay(target name: String) -> Int32 {
        guard let body = FuzzTargets.named(name) else {
            printError("no fuzz target \(name)")
            return 2
        }
        var vectors = defaultVectors()
        var corpus: String? = nil
        var inputs: [String] = []
        for argument in CommandLine.arguments.dropFirst() {
            if argument.hasPrefix("--make-corpus=") {
                corpus = String(argument.dropFirst("--make-corpus=".count))
            } else if argument.hasPrefix("--vectors=") {
                vectors = String(argument.dropFirst("--vectors=".count))
            } else if argument.hasPrefix("-") {
                // libFuzzer flags (-runs=…) are accepted and ignored.
                continue
            } else {
                inputs.append(argument)
            }
        }
        let fs = PosixFileSystem.shared
        do {
            if let corpus {
                try fs.createDirectory(corpus)
                let seeds = try FuzzSeeds.seeds(for: name, vectors: vectors)
                for (i, seed) in seeds.enumerated() {
                    let file = try fs.createWritable(Path.join(corpus, "seed-\(i)"))
                    try file.append(seed)
                    try file.close()
                }
                print("fuzz-\(name): wrote \(seeds.count) seeds to \(corpus) (from \(vectors))")
                return 0
            }
            var files: [String] = []
            for input in inputs {
                if let entries = try? fs.listDirectory(input) {
                    files += entries.sorted().map { Path.join(input, $0) }
                } else {
                    files.append(input)
                }
            }
            for path in files {
                let file = try fs.openRandomAccess(path)
                let bytes = try file.read(at: 0, count: Int(file.size))
                file.close()
                bytes.withUnsafeBytes { body($0) }
            }
            print("fuzz-\(name): \(files.count) inputs ran without a finding")
            return 0
        } catch {
            printError("fuzz-\(name): \(error)")
            return 1
        }
    }

    /// The reference vectors beside the repository or at /work/shared.
    static func defaultVectors() -> String {
        for candidate in ["../shared/vectors/rocksdb-7.8.3", "/work/shared/vectors/rocksdb-7.8.3"]
        where PosixFileSystem.shared.exists(candidate) {
            return candidate
        }
        return "../shared/vectors/rocksdb-7.8.3"
    }

    static func printError(_ message: String) {
        let bytes = Array((message + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
