// fuzz-manifest: the libFuzzer target for FuzzTargets.manifest (Fuzz/FuzzTargets).
// Fuzz with tools/run-fuzz.sh manifest SECONDS; a plain build replays inputs:
// .build/debug/fuzz-manifest FILE|DIR ...  (or --make-corpus=DIR: the seeds).
import FuzzTargets
import Glibc

@main
struct Main {
    static func main() {
        exit(FuzzMain.run(target: "manifest"))
    }
}
