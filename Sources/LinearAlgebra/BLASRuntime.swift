import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// What the loaded OpenBLAS is and how many threads it uses.
///
/// OpenBLAS picks its kernels ("core") once, when the library loads, from `OPENBLAS_CORETYPE` or CPU detection.
/// Debian's 0.3.21 misdetects recent AVX-512 CPUs as "Prescott"; `BLASCoreSelection` decides which core the CLI
/// should ask for instead (the CLI re-executes itself once with the variable set).
public enum BLASRuntime {
    /// The kernel family in use, e.g. "SkylakeX", "Haswell", "Prescott".
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p).trimmingCharacters()
    }

    /// OpenBLAS's build configuration string.
    public static var config: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p).trimmingCharacters()
    }

    /// Threads BLAS calls may use.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets the threads BLAS calls may use (process-wide).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }

    /// Runs `body` with BLAS limited to `n` threads, then restores the previous count.
    public static func withThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let previous = threads
        setThreads(n)
        defer { setThreads(previous) }
        return try body()
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

/// Which OpenBLAS core this CPU should run, from the CPU's instruction-set flags.
public struct BLASCoreSelection: Sendable, Equatable {
    /// CPU flags relevant to the choice (from /proc/cpuinfo on Linux).
    public let cpuFlags: Set<String>

    public init(cpuFlags: Set<String>) { self.cpuFlags = cpuFlags }

    /// Reads the flags of the first CPU in /proc/cpuinfo (empty where unavailable).
    public static func current() -> BLASCoreSelection {
        BLASCoreSelection(cpuFlags: readCPUFlags())
    }

    static func readCPUFlags() -> Set<String> {
        guard let f = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var cap = 0
        defer { free(line) }
        while getline(&line, &cap, f) > 0 {
            guard let l = line else { break }
            let s = String(cString: l)
            if s.hasPrefix("flags") || s.hasPrefix("Features") {
                guard let colon = s.firstIndex(of: ":") else { continue }
                return Set(s[s.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            }
        }
        return []
    }

    /// The strongest x86-64 OpenBLAS core whose instructions this CPU has, or nil when unknown.
    public var bestCore: String? {
        let f = cpuFlags
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(f.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(f.contains) { return "Haswell" }
        if f.contains("avx") { return "Sandybridge" }
        return nil
    }

    /// The SIMD features worth printing in `solvable info`.
    public var notableFeatures: [String] {
        ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16", "neon", "asimd"]
            .filter(cpuFlags.contains)
    }

    /// Rank of a core name by vector width (higher is faster for GEMM); unknown names rank 0.
    public static func rank(_ core: String) -> Int {
        switch core.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return 4
        case "haswell", "zen", "excavator": return 3
        case "sandybridge", "bulldozer", "piledriver", "steamroller": return 2
        case "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "barcelona", "opteron", "katmai": return 1
        default: return 0
        }
    }

    /// The core to request when the library runs `loaded` and nobody set `OPENBLAS_CORETYPE`, or nil when
    /// the loaded core is already as fast as this CPU allows (or the CPU is not recognised).
    public func recommendedOverride(loaded: String) -> String? {
        guard let best = bestCore else { return nil }
        let loadedRank = BLASCoreSelection.rank(loaded)
        return loadedRank > 0 && loadedRank < BLASCoreSelection.rank(best) ? best : nil
    }
}
