import CBLAS
import Foundation
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

    /// Threads BLAS calls use right now (1 inside a serial region).
    public static var threads: Int { Int(openblas_get_num_threads()) }

    // OpenBLAS's thread count is one process-wide setting. It is owned here: `setThreads` records the budget for
    // single large calls, and `serial` regions (counted, so concurrent and nested regions from any thread are safe)
    // hold it at 1 until the last region ends. A budget set while a region runs takes effect when it ends, so no
    // caller can switch BLAS to several threads under a computation that relies on it being serial.
    private static let lock = NSLock()
    nonisolated(unsafe) private static var serialRegions = 0
    nonisolated(unsafe) private static var budget: Int? = nil

    /// Sets the threads single BLAS calls may use outside serial regions (process-wide).
    public static func setThreads(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        budget = max(1, n)
        if serialRegions == 0 { openblas_set_num_threads(Int32(max(1, n))) }
    }

    /// Runs `body` with BLAS single-threaded, whatever other threads set meanwhile.
    ///
    /// Two uses: loops that run many small BLAS calls on several threads of their own (BLAS threads would
    /// oversubscribe the cores), and computations whose rounding must not depend on the thread count (OpenBLAS's
    /// threaded kernels, e.g. `dsymv` inside `dsyevd`, reduce partial sums in a thread-count-dependent order).
    public static func serial<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        if serialRegions == 0 {
            if budget == nil { budget = Int(openblas_get_num_threads()) }
            openblas_set_num_threads(1)
        }
        serialRegions += 1
        lock.unlock()
        defer {
            lock.lock()
            serialRegions -= 1
            if serialRegions == 0, let b = budget { openblas_set_num_threads(Int32(b)) }
            lock.unlock()
        }
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
