// fuzz-writebatch: the libFuzzer target for FuzzTargets.writeBatch (Fuzz/FuzzTargets).
// Fuzz with tools/run-fuzz.sh writebatch SECONDS; a plain build replays inputs:
// .build/debug/fuzz-writebatch FILE|DIR ...  (or --make-corpus=DIR: the seeds).
import FuzzTargets
import Glibc

@main
struct Main {
    static func main() {
        exit(FuzzMain.run(target: "writebatch"))
    }
}
