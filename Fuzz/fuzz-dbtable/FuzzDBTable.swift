// fuzz-dbtable: the libFuzzer target for FuzzTargets.dbTable (Fuzz/FuzzTargets):
// a whole database around a table whose blocks are damaged behind valid checksums.
// Fuzz with tools/run-fuzz.sh dbtable SECONDS; a plain build replays inputs:
// .build/debug/fuzz-dbtable FILE|DIR ...  (or --make-corpus=DIR: the seeds).
import FuzzTargets
import Glibc

@main
struct Main {
    static func main() {
        exit(FuzzMain.run(target: "dbtable"))
    }
}
