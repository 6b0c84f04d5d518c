// fuzz-table: the libFuzzer target for FuzzTargets.table (Fuzz/FuzzTargets).
// Fuzz with tools/run-fuzz.sh table SECONDS; a plain build replays inputs:
// .build/debug/fuzz-table FILE|DIR ...  (or --make-corpus=DIR: the seeds).
import FuzzTargets
import Glibc

@main
struct Main {
    static func main() {
        exit(FuzzMain.run(target: "table"))
    }
}
