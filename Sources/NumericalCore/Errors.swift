/// Errors a user can act on. The CLI maps them to exit codes: invalid input 2, runtime failure 1,
/// non-convergence 3.
public enum SolvableError: Error, CustomStringConvertible, Equatable {
    /// A parameter is missing, of the wrong type or outside its allowed range.
    case invalidParameter(name: String, value: String, allowed: String)
    /// A key or flag that the command does not have.
    case unknownParameter(name: String, known: [String])
    /// An input file could not be read or parsed.
    case invalidInput(source: String, detail: String)
    /// A request would need more memory than available.
    case insufficientMemory(needed: Int, available: Int, hint: String)
    /// A solver did not converge (the partial result was still written, marked as such).
    case notConverged(solver: String, detail: String)
    /// Anything else that went wrong at run time.
    case runtime(String)

    public var description: String {
        switch self {
        case let .invalidParameter(name, value, allowed):
            // a long bad value (a 5 MB string) is echoed by its start and its length only
            let echo = value.count > 120 ? "\(value.prefix(100))... (\(value.utf8.count) bytes)" : value
            return "invalid value \(echo) for parameter '\(name)': allowed \(allowed)"
        case let .unknownParameter(name, known):
            return "unknown parameter '\(name)'; known parameters: \(known.joined(separator: ", "))"
        case let .invalidInput(source, detail): return "cannot read \(source): \(detail)"
        case let .insufficientMemory(needed, available, hint):
            return "this run needs about \(formatBytes(needed)) but only \(formatBytes(available)) is available; \(hint)"
        case let .notConverged(solver, detail): return "\(solver) did not converge: \(detail)"
        case let .runtime(s): return s
        }
    }

    /// Exit status for the CLI.
    public var exitCode: Int32 {
        switch self {
        case .invalidParameter, .unknownParameter, .invalidInput, .insufficientMemory: return 2
        case .notConverged: return 3
        case .runtime: return 1
        }
    }
}

/// "1.5 GiB"-style formatting.
public func formatBytes(_ n: Int) -> String {
    if n == Int.max { return "8 EiB or more" }   // a saturated estimate (MemoryBudget.product/sum)
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var v = Double(n)
    var u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return u == 0 ? "\(n) B" : "\((v * 10).rounded() / 10) \(units[u])"
}

/// Validation helpers used by problem initialisers: each throws `invalidParameter` naming the parameter.
public enum Validate {
    public static func finite(_ name: String, _ x: Double) throws {
        guard x.isFinite else { throw SolvableError.invalidParameter(name: name, value: "\(x)", allowed: "a finite number") }
    }
    public static func positive(_ name: String, _ x: Double) throws {
        guard x.isFinite && x > 0 else { throw SolvableError.invalidParameter(name: name, value: "\(x)", allowed: "a finite number > 0") }
    }
    public static func nonNegative(_ name: String, _ x: Double) throws {
        guard x.isFinite && x >= 0 else { throw SolvableError.invalidParameter(name: name, value: "\(x)", allowed: "a finite number >= 0") }
    }
    public static func inRange(_ name: String, _ x: Double, _ r: ClosedRange<Double>) throws {
        guard x.isFinite && r.contains(x) else {
            throw SolvableError.invalidParameter(name: name, value: "\(x)", allowed: "a number in [\(r.lowerBound), \(r.upperBound)]")
        }
    }
    public static func inRange(_ name: String, _ x: Int, _ r: ClosedRange<Int>) throws {
        guard r.contains(x) else {
            throw SolvableError.invalidParameter(name: name, value: "\(x)", allowed: "an integer in [\(r.lowerBound), \(r.upperBound)]")
        }
    }
    public static func nonEmpty<T>(_ name: String, _ xs: [T]) throws {
        guard !xs.isEmpty else { throw SolvableError.invalidParameter(name: name, value: "[]", allowed: "a non-empty list") }
    }
}
