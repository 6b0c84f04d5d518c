// fuzz-versionedit: the libFuzzer target for FuzzTargets.versionEdit (Fuzz/FuzzTargets).
// Fuzz with tools/run-fuzz.sh versionedit SECONDS; a plain build replays inputs:
// .build/debug/fuzz-versionedit FILE|DIR ...  (or --make-corpus=DIR: the seeds).
import FuzzTargets
import Glibc

@main
struct Main {
    static func main() {
        exit(FuzzMain.run(target: "versionedit"))
    }
}
