// fuzz-block: the libFuzzer target for FuzzTargets.block (Fuzz/FuzzTargets).
// Fuzz with tools/run-fuzz.sh block SECONDS; a plain build replays inputs:
// .build/debug/fuzz-block FILE|DIR ...  (or --make-corpus=DIR: the seeds).
import FuzzTargets
import Glibc

@main
struct Main {
    static func main() {
        exit(FuzzMain.run(target: "block"))
    }
}
