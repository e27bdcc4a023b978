import Foundation
import LinearAlgebra

/// The thread policy of Solvable, one rule for every command:
///
/// * `threads` is the user's `--threads N` (default `SLURM_CPUS_PER_TASK`, else the core count).
/// * A loop over independent samples/trials/members (`ThreadPolicy.parallelFor`) runs `threads` workers and
///   sets BLAS to 1 thread while it runs, so the cores are never oversubscribed.
/// * Outside such loops, single large BLAS/LAPACK calls use `threads` BLAS threads.
///
/// Work is assigned statically (worker w takes items w, w + T, ...), and each item draws from its own
/// `RandomStream(seed, point, sample)`, so results never depend on the thread count.
public enum ThreadPolicy {
    nonisolated(unsafe) private static var configured: Int = defaultThreads()

    /// `SLURM_CPUS_PER_TASK` if set and valid, else the number of active cores.
    public static func defaultThreads() -> Int {
        if let s = ProcessInfo.processInfo.environment["SLURM_CPUS_PER_TASK"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// The thread budget currently configured.
    public static var threads: Int { configured }

    /// Sets the thread budget (and BLAS threads for single large calls).
    public static func configure(threads: Int) {
        configured = max(1, threads)
        BLASRuntime.setThreads(configured)
    }

    /// Runs `body(i)` for i in 0..<count on up to `threads` workers, BLAS single-threaded inside.
    /// `body` must write only to item-specific storage.
    public static func parallelFor(_ count: Int, threads: Int? = nil, _ body: (Int) throws -> Void) rethrows {
        let workers = min(max(1, threads ?? configured), max(1, count))
        try BLASRuntime.serial { try runWorkers(count, workers, body) }
    }

    private static func runWorkers(_ count: Int, _ workers: Int, _ body: (Int) throws -> Void) rethrows {
        if workers == 1 {
            for i in 0..<count { try body(i) }
            return
        }
        try withoutActuallyEscaping(body) { body in
            let errors = ErrorBox()
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var i = w
                while i < count {
                    if errors.hasError { return }
                    do { try body(i) } catch { errors.set(error); return }
                    i += workers
                }
            }
            if let e = errors.error { throw e }
        }
    }

    /// Maps `body` over 0..<count in parallel, results in index order.
    public static func parallelMap<T>(_ count: Int, threads: Int? = nil, _ body: (Int) throws -> T) rethrows -> [T] {
        let box = ResultBox<T>(count)
        try parallelFor(count, threads: threads) { i in box.set(i, try body(i)) }
        return box.values
    }
}

private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    var hasError: Bool { lock.lock(); defer { lock.unlock() }; return stored != nil }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return stored }
    func set(_ e: Error) { lock.lock(); if stored == nil { stored = e }; lock.unlock() }
}

private final class ResultBox<T>: @unchecked Sendable {
    private var items: [T?]
    private let lock = NSLock()
    init(_ n: Int) { items = [T?](repeating: nil, count: n) }
    func set(_ i: Int, _ v: T) { lock.lock(); items[i] = v; lock.unlock() }
    var values: [T] { items.map { $0! } }
}
