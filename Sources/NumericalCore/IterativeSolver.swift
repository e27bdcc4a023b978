import Foundation

// The one solver driver of Solvable, after NonlinearSolve.jl's `solve(problem, algorithm)`: an iterative method
// supplies its state and one `step`; the driver owns everything around the steps, the same for every solver:
//
//   * the damping weight (and its back-off when the residual keeps growing),
//   * the finiteness gate: a step whose values are not finite is rolled back to the last finite state, and the
//     solve ends `diverged`, saying from which iteration the values are not finite,
//   * the residual history (trace), the stopping rule and the status, which follows from the numbers alone:
//     `converged` means the rule held on a finite residual,
//   * progress reports, and periodic checkpoints from which a killed solve resumes bitwise,
//   * the `Solution` {value (u), record: status (retcode), iterations and time (stats), residuals (trace)}.
//
// Methods using it: the deep linear DMFT (MeanFieldDynamics.DeepLinearDMFT), the Monte Carlo DMFT
// (MeanFieldDynamics.NonlinearDMFT) and `solveFixedPoint` for plain vector maps.

/// What one step of an iterative method reports to the driver.
public enum StepResult: Sendable, Equatable {
    /// The step was taken; `residual` is the change it made in the method's own norm.
    case advanced(residual: Double)
    /// The step produced values that are not finite (`quantity` says which). The driver restores the state from
    /// before the step, so the method need not undo anything.
    case nonFinite(quantity: String)
}

/// An iterative method: a state and the map that advances it (NonlinearSolve.jl's `step!`).
public protocol IterativeMethod {
    associatedtype State
    /// The state the iteration starts from.
    func initialState() throws -> State
    /// Advances `state` by one iteration. `damping` is the weight beta of the new iterate,
    /// x <- (1 - beta) x + beta F(x), which the method applies where its scheme puts it (after a whole Jacobi
    /// step, or per block in a Gauss-Seidel sweep). `iteration` counts from 1.
    func step(_ state: inout State, iteration: Int, damping: Double) throws -> StepResult
}

/// A method whose state can be written to and read from a checkpoint (for long solves).
public protocol CheckpointableMethod: IterativeMethod {
    /// Hash of everything the result depends on (problem, options, seed); see `CheckpointKey`.
    var checkpointKey: UInt64 { get }
    /// Stores `state` under names starting with `prefix`.
    func save(_ state: State, into archive: inout CheckpointState, prefix: String)
    /// Restores a state saved by `save` (throws when entries are missing or have the wrong size).
    func restore(from archive: CheckpointState, prefix: String) throws -> State
}

/// When the driver stops.
public enum StoppingRule: Sendable, Equatable {
    /// The residual is below the tolerance once.
    case residualBelowTolerance
    /// The residual is below the tolerance in `n` consecutive iterations (for residuals that plateau at a noise
    /// floor, e.g. Monte Carlo with fresh samples every iteration).
    case consecutiveBelowTolerance(Int)
}

/// Reduces the damping when the residual has grown for `afterGrowingIterations` iterations in a row.
public struct DampingBackoff: Sendable, Equatable {
    public var afterGrowingIterations: Int
    /// The damping used from then on (only ever lowers it).
    public var damping: Double
    public init(afterGrowingIterations: Int, damping: Double) {
        self.afterGrowingIterations = afterGrowingIterations
        self.damping = damping
    }
}

/// Options of the driver.
public struct IterationOptions: Sendable {
    public var tolerance: Double
    public var maxIterations: Int
    /// Initial damping weight beta in (0, 1]; 1 is undamped.
    public var damping: Double
    public var backoff: DampingBackoff?
    public var stopping: StoppingRule
    /// A finite residual above this also ends the solve as `diverged`.
    public var divergenceThreshold: Double

    public init(tolerance: Double, maxIterations: Int, damping: Double = 1, backoff: DampingBackoff? = nil,
                stopping: StoppingRule = .residualBelowTolerance, divergenceThreshold: Double = .infinity) {
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        self.damping = damping
        self.backoff = backoff
        self.stopping = stopping
        self.divergenceThreshold = divergenceThreshold
    }
}

/// One line of progress from the driver: after each iteration.
public struct IterationReport: Sendable {
    public var iteration: Int
    public var maxIterations: Int
    public var residual: Double
    public var tolerance: Double
    /// Seconds since the solve started (including time before a resume).
    public var elapsed: Double
}

/// A checkpoint file shared by several solves (e.g. the replicas of one Monte Carlo solve, each under its own
/// prefix): the archive of all of them is written atomically together.
public final class CheckpointSession: @unchecked Sendable {
    public let checkpoint: Checkpoint
    public let key: UInt64
    /// The content of the file (every slot's state).
    public private(set) var archive = CheckpointState()
    /// What loading found, for the log: where the solve resumes, or why the file was not used.
    public let note: String
    private var sinceSave = Stopwatch()
    private let lock = NSLock()

    /// Opens the checkpoint for `key`, loading a resumable state if the file holds one.
    public init(_ checkpoint: Checkpoint, key: UInt64) {
        self.checkpoint = checkpoint
        self.key = key
        let path = checkpoint.url.path
        switch checkpoint.load(key: key) {
        case .resumable(let state):
            archive = state
            note = "resumed from the checkpoint at \(path)"
        case .none: note = "no checkpoint at \(path) yet; starting afresh"
        case .otherParameters: note = "the checkpoint at \(path) is for other parameters; starting afresh (it will be replaced)"
        case .unreadable(let why): note = "the checkpoint at \(path) is unreadable (\(why)); starting afresh"
        }
    }

    /// Whether `checkpoint.interval` seconds have passed since the last write.
    var due: Bool { lock.withLock { sinceSave.elapsed >= checkpoint.interval } }

    /// Replaces the entries under `prefix` and writes the whole archive.
    func write(prefix: String, _ fill: (inout CheckpointState) -> Void) throws {
        try lock.withLock {
            archive.removeAll(prefix: prefix)
            fill(&archive)
            try checkpoint.save(archive, key: key)
            sinceSave = Stopwatch()
        }
    }
}

/// Runs `method` to its stopping rule (see the notes at the top of this file).
public func solveIteratively<M: IterativeMethod>(_ method: M, options: IterationOptions,
                                                 progress: ((IterationReport) -> Void)? = nil) throws -> Solution<M.State> {
    var driver = IterationDriver<M>(options: options)
    var state = try method.initialState()
    return try driver.run(method, state: &state, progress: progress, checkpoint: nil)
}

/// Runs a checkpointable `method`, saving its state in `session` under `prefix` every `interval` seconds and when
/// it ends; a solve that finds its own state in the session continues from it and gives bitwise the result of an
/// uninterrupted solve (a finished one is returned as it was).
public func solveIteratively<M: CheckpointableMethod>(_ method: M, options: IterationOptions,
                                                      checkpoint session: CheckpointSession?, prefix: String = "",
                                                      progress: ((IterationReport) -> Void)? = nil) throws -> Solution<M.State> {
    var driver = IterationDriver<M>(options: options)
    guard let session else {
        var state = try method.initialState()
        return try driver.run(method, state: &state, progress: progress, checkpoint: nil)
    }
    precondition(session.key == method.checkpointKey, "checkpoint session opened for another solve")
    var state: M.State
    if session.archive.integer(prefix + "next_iteration") != nil {
        state = try method.restore(from: session.archive, prefix: prefix + "state.")
        try driver.restore(session.archive, prefix: prefix)
    } else {
        state = try method.initialState()
    }
    let store = CheckpointStore(session: session, prefix: prefix) { s, archive in
        method.save(s, into: &archive, prefix: prefix + "state.")
    }
    return try driver.run(method, state: &state, progress: progress, checkpoint: store)
}

/// Saves one solve's state and the driver's counters into a session.
private struct CheckpointStore<State> {
    let session: CheckpointSession
    let prefix: String
    let saveState: (State, inout CheckpointState) -> Void
}

/// The driver's own state: counters, history, damping; restored from checkpoints with the method's state.
private struct IterationDriver<M: IterativeMethod> {
    let options: IterationOptions
    var nextIteration = 1
    var history: [Double] = []
    var damping: Double
    var growing = 0
    var below = 0
    var status = SolverStatus.maxIterations
    var message: String? = nil
    var nonFiniteFrom: Int? = nil
    var finished = false
    var elapsedBefore = 0.0

    init(options: IterationOptions) {
        self.options = options
        damping = options.damping
    }

    mutating func restore(_ a: CheckpointState, prefix: String) throws {
        guard let next = a.integer(prefix + "next_iteration"), let d = a[prefix + "damping"], d.count == 1,
              let e = a[prefix + "elapsed"], e.count == 1 else {
            throw SolvableError.runtime("checkpoint entries under '\(prefix)' are incomplete; delete the checkpoint file")
        }
        nextIteration = next
        damping = d[0]
        elapsedBefore = e[0]
        history = a[prefix + "history"] ?? []
        growing = a.integer(prefix + "growing") ?? 0
        below = a.integer(prefix + "below") ?? 0
        finished = a.integer(prefix + "done") == 1
        status = a.string(prefix + "status").flatMap(SolverStatus.init(rawValue:)) ?? .maxIterations
        message = a.string(prefix + "message")
        nonFiniteFrom = a.integer(prefix + "non_finite_from")
    }

    func save(into a: inout CheckpointState, prefix: String, elapsed: Double) {
        a.set(prefix + "next_iteration", integer: nextIteration)
        a.set(prefix + "done", integer: finished ? 1 : 0)
        a[prefix + "damping"] = [damping]
        a[prefix + "elapsed"] = [elapsed]
        a[prefix + "history"] = history
        a.set(prefix + "growing", integer: growing)
        a.set(prefix + "below", integer: below)
        a.set(prefix + "status", string: status.rawValue)
        if let m = message { a.set(prefix + "message", string: m) }
        if let k = nonFiniteFrom { a.set(prefix + "non_finite_from", integer: k) }
    }

    mutating func run(_ method: M, state: inout M.State, progress: ((IterationReport) -> Void)?,
                      checkpoint: CheckpointStore<M.State>?) throws -> Solution<M.State> {
        let clock = Stopwatch()
        let o = options
        var iteration = nextIteration
        if !finished { status = .maxIterations; message = nil }
        while !finished && iteration <= o.maxIterations {
            let lastFinite = state   // copy-on-write: costs only the buffers the step mutates in place
            let result = try method.step(&state, iteration: iteration, damping: damping)
            var residual = Double.nan
            switch result {
            case .advanced(let r): residual = r
            case .nonFinite(let quantity):
                state = lastFinite
                fail(iteration, "\(quantity) not finite")
            }
            if finished { break }
            if !residual.isFinite || residual > o.divergenceThreshold {
                state = lastFinite
                fail(iteration, residual.isFinite ? "residual \(residual) above the divergence threshold \(o.divergenceThreshold)"
                                                  : "residual not finite")
                break
            }
            history.append(residual)
            progress?(IterationReport(iteration: iteration, maxIterations: o.maxIterations, residual: residual,
                                      tolerance: o.tolerance, elapsed: elapsedBefore + clock.elapsed))
            nextIteration = iteration + 1
            if stops(residual) { status = .converged; finished = true; break }
            if let b = o.backoff {
                if history.count >= 2 && residual > history[history.count - 2] { growing += 1 } else { growing = 0 }
                if growing >= b.afterGrowingIterations && damping > b.damping { damping = b.damping; growing = 0 }
            }
            if let ck = checkpoint, iteration < o.maxIterations, ck.session.due {
                let elapsed = elapsedBefore + clock.elapsed
                try ck.session.write(prefix: ck.prefix) { a in
                    save(into: &a, prefix: ck.prefix, elapsed: elapsed)
                    ck.saveState(state, &a)
                }
            }
            iteration += 1
        }
        if !finished {
            finished = true
            message = "residual \(history.last ?? .nan) after \(history.count) iterations is above the tolerance \(o.tolerance)"
        }
        let elapsed = elapsedBefore + clock.elapsed
        if let ck = checkpoint {
            try ck.session.write(prefix: ck.prefix) { a in
                save(into: &a, prefix: ck.prefix, elapsed: elapsed)
                ck.saveState(state, &a)
            }
        }
        var record = ConvergenceRecord(status: status, iterations: history.count, residualHistory: history,
                                       tolerance: o.tolerance, elapsedSeconds: elapsed, message: message)
        record.damping = damping
        record.nonFiniteFrom = nonFiniteFrom
        return Solution(value: state, record: record)
    }

    /// Ends the solve as diverged at `iteration` (the state is the last finite one).
    private mutating func fail(_ iteration: Int, _ what: String) {
        status = .diverged
        nonFiniteFrom = iteration
        finished = true
        nextIteration = iteration
        message = "\(what) at iteration \(iteration); returning the last finite iterate (iteration \(iteration - 1))"
    }

    private mutating func stops(_ residual: Double) -> Bool {
        switch options.stopping {
        case .residualBelowTolerance: return residual < options.tolerance
        case .consecutiveBelowTolerance(let n):
            below = residual < options.tolerance ? below + 1 : 0
            return below >= n
        }
    }
}
