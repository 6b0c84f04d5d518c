// fuzz-log: the libFuzzer target for FuzzTargets.log (Fuzz/FuzzTargets).
// Fuzz with tools/run-fuzz.sh log SECONDS; a plain build replays inputs:
// .build/debug/fuzz-log FILE|DIR ...  (or --make-corpus=DIR: the seeds).
import FuzzTargets
import Glibc

@main
struct Main {
    static func main() {
        exit(FuzzMain.run(target: "log"))
    }
}
