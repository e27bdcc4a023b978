import Foundation
import LinearAlgebra

/// Full BLAS speed without the user knowing about OpenBLAS cores: when `OPENBLAS_CORETYPE` is unset and the
/// loaded core is slower than this CPU supports (Debian's 0.3.21 calls AVX-512 machines "Prescott"), the CLI
/// re-executes itself once with the right core set. OpenBLAS reads the variable only at load time, hence the
/// re-exec. An explicit `OPENBLAS_CORETYPE` always wins; `SOLVABLE_BLAS_AUTOSELECT=0` turns this off.
enum BLASAutoSelect {
    static let markerVariable = "SOLVABLE_BLAS_AUTOSELECTED_FROM"

    static func reexecIfNeeded() {
        let env = ProcessInfo.processInfo.environment
        if env["OPENBLAS_CORETYPE"] != nil || env[markerVariable] != nil || env["SOLVABLE_BLAS_AUTOSELECT"] == "0" { return }
        let loaded = BLASRuntime.coreName
        guard let core = BLASCoreSelection.current().recommendedOverride(loaded: loaded) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv(markerVariable, loaded, 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // exec failed: carry on with the slower core, and say so in `info`.
        unsetenv("OPENBLAS_CORETYPE")
        setenv(markerVariable, "exec-failed", 1)
    }

    /// A sentence for `solvable info` on how the core was chosen.
    static var explanation: String {
        let env = ProcessInfo.processInfo.environment
        if let from = env[markerVariable] {
            if from == "exec-failed" { return "auto-selection failed (re-exec not possible); running the library default" }
            return "auto-selected by Solvable (the library chose \(from) for this CPU)"
        }
        if let c = env["OPENBLAS_CORETYPE"] { return "set by the user (OPENBLAS_CORETYPE=\(c))" }
        if env["SOLVABLE_BLAS_AUTOSELECT"] == "0" { return "library default (auto-selection disabled by SOLVABLE_BLAS_AUTOSELECT=0)" }
        return "library default (already the best this CPU supports)"
    }
}
