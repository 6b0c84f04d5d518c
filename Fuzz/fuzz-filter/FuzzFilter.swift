// fuzz-filter: the libFuzzer target for FuzzTargets.filter (Fuzz/FuzzTargets).
// Fuzz with tools/run-fuzz.sh filter SECONDS; a plain build replays inputs:
// .build/debug/fuzz-filter FILE|DIR ...  (or --make-corpus=DIR: the seeds).
import FuzzTargets
import Glibc

@main
struct Main {
    static func main() {
        exit(FuzzMain.run(target: "filter"))
    }
}
