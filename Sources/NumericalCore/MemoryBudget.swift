import Foundation

/// The one memory policy of Solvable: every computation that allocates something large estimates its bytes first
/// and, when the estimate exceeds the budget, is refused with `SolvableError.insufficientMemory` (exit 2) carrying
/// the estimate and what to reduce, before anything is allocated.
///
/// The budget is 80 % of the physical memory, or of the job's allocation under Slurm (`SLURM_MEM_PER_NODE`, or
/// `SLURM_MEM_PER_CPU` x `SLURM_CPUS_PER_TASK`, in MiB), whichever is smaller; `SOLVABLE_MEMORY_LIMIT` (bytes, or
/// with a K/M/G/T suffix) overrides it. Byte counts are formed with `product` and `sum`, which saturate at
/// `Int.max` instead of overflowing into small numbers for absurd requests.
public enum MemoryBudget {
    /// Bytes one run may use.
    public static var available: Int { budget(environment: ProcessInfo.processInfo.environment,
                                              physical: ProcessInfo.processInfo.physicalMemory) }

    /// The budget for a given environment and physical memory (what `available` computes).
    public static func budget(environment env: [String: String], physical: UInt64) -> Int {
        if let s = env["SOLVABLE_MEMORY_LIMIT"], let b = parseBytes(s) { return b }
        var limit = Int(min(physical, UInt64(Int.max)))
        let mib = 1 << 20
        if let s = env["SLURM_MEM_PER_NODE"], let m = Int(s), m > 0 {
            limit = min(limit, product(m, mib))
        } else if let s = env["SLURM_MEM_PER_CPU"], let m = Int(s), m > 0 {
            let cpus = env["SLURM_CPUS_PER_TASK"].flatMap { Int($0) }.map { max(1, $0) } ?? 1
            limit = min(limit, product(m, cpus, mib))
        }
        return limit / 10 * 8
    }

    /// Refuses an invalid `SOLVABLE_MEMORY_LIMIT` (exit 2) instead of silently ignoring it.
    public static func validateEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let s = env["SOLVABLE_MEMORY_LIMIT"], parseBytes(s) == nil {
            throw SolvableError.invalidParameter(name: "SOLVABLE_MEMORY_LIMIT", value: s,
                                                 allowed: "a positive size in bytes, optionally with a K, M, G or T suffix (powers of 1024), e.g. 512M or 2.5G")
        }
    }

    /// "1000000", "512M", "2.5G", "1T" (powers of 1024) as bytes; nil when not a positive size.
    static func parseBytes(_ s: String) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces).uppercased()
        guard let last = t.last else { return nil }
        let scale: Double
        var number = Substring(t)
        switch last {
        case "K": scale = 1024; number = number.dropLast()
        case "M": scale = 1024 * 1024; number = number.dropLast()
        case "G": scale = 1024 * 1024 * 1024; number = number.dropLast()
        case "T": scale = 1024 * 1024 * 1024 * 1024; number = number.dropLast()
        default: scale = 1
        }
        guard let v = Double(number), v.isFinite, v > 0, v * scale < Double(Int.max) else { return nil }
        return Int(v * scale)
    }

    /// Product of `factors` (negative factors count as 0), saturating at `Int.max`.
    public static func product(_ factors: Int...) -> Int {
        var r = 1
        for f in factors {
            let (p, o) = r.multipliedReportingOverflow(by: max(f, 0))
            if o { return Int.max }
            r = p
        }
        return r
    }

    /// Sum of `terms`, saturating at `Int.max`.
    public static func sum(_ terms: Int...) -> Int {
        var r = 0
        for t in terms {
            let (s, o) = r.addingReportingOverflow(t)
            if o { return Int.max }
            r = s
        }
        return r
    }

    /// Throws `insufficientMemory` when `needed` exceeds the budget (or `cap`, when given: tests and callers with
    /// their own limit).
    public static func check(_ needed: Int, cap: Int? = nil, hint: String) throws {
        let avail = cap ?? available
        if needed > avail { throw SolvableError.insufficientMemory(needed: needed, available: avail, hint: hint) }
    }
}
