import Foundation

/// Progress of long work on stderr (so `--json` output on stdout stays one document):
///
/// - on a terminal, one live status line at the bottom, redrawn in place (and once a second by a ticker while
///   work is running, so a long iteration still shows its elapsed time); log lines are printed above it through
///   `Progress.printAbove`, never glued onto it;
/// - when stderr is not a terminal, a plain line every few seconds;
/// - nothing with `--quiet`.
///
/// Two kinds: `Progress(label, total:)` counts units of work (figures, sweep points, capacity points) with a
/// rate and ETA; `SolverProgress` follows an iterative solver's `IterationReport`s (iteration, residual against
/// the tolerance, ETA from the residual's geometric rate of decrease).
public final class Progress: @unchecked Sendable {
    public enum Mode: Sendable { case quiet, terminal, lines }

    /// The process-wide mode, set by the CLI from `--quiet` and whether stderr is a terminal.
    nonisolated(unsafe) public static var mode: Mode = .quiet

    /// Seconds between plain progress lines when stderr is not a terminal.
    public static let lineInterval = 5.0

    private let label: String
    private let total: Int
    private var done = 0
    private let clock = Stopwatch()
    private var lastPrint = -1.0
    private let lock = NSLock()
    private var hold: StatusLineHold?

    public init(_ label: String, total: Int) {
        self.label = label
        self.total = max(1, total)
        hold = StatusLineHold { [weak self] in self?.text() ?? "" }
    }

    deinit { hold?.release() }

    /// Marks `n` more units done.
    public func advance(_ n: Int = 1) {
        lock.lock()
        done += n
        let t = clock.elapsed
        let finished = done >= total
        let due = t - lastPrint >= Progress.lineInterval || finished
        if due { lastPrint = t }
        lock.unlock()
        switch Progress.mode {
        case .quiet: return
        case .terminal:
            if finished { hold?.release(finalLine: text()) } else { StatusLine.shared.redraw() }
        case .lines:
            if due { Progress.write(text() + "\n") }
        }
    }

    /// "label [####------] 3/8 · 12 s · ETA 20 s".
    func text() -> String {
        lock.lock(); defer { lock.unlock() }
        let t = clock.elapsed
        let frac = Double(done) / Double(total)
        let width = 24
        let filled = min(width, Int(frac * Double(width)))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let eta = done > 0 ? t / Double(done) * Double(total - done) : .nan
        return "\(label) [\(bar)] \(done)/\(total) · \(Progress.duration(t)) · ETA \(eta.isFinite ? Progress.duration(eta) : "?")"
    }

    /// A short duration: "850 ms", "12 s", "3 min 05 s", "1 h 02 min".
    public static func duration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "?" }
        if s < 1 { return String(format: "%.0f ms", s * 1000) }
        if s < 60 { return String(format: "%.0f s", s) }
        if s < 3600 { return String(format: "%d min %02d s", Int(s) / 60, Int(s) % 60) }
        return String(format: "%d h %02d min", Int(s) / 3600, (Int(s) % 3600) / 60)
    }

    /// Prints a log line: above the live status line on a terminal (cleared first, redrawn after), as is
    /// otherwise. `emit` writes the line itself (e.g. a logger writing to stderr).
    public static func printAbove(_ emit: () -> Void) {
        if mode == .terminal { StatusLine.shared.printAbove(emit) } else { emit() }
    }

    static func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}

/// Progress of an iterative solve from its `IterationReport`s: iteration (of the maximum), residual against
/// the tolerance, elapsed time and an ETA. The ETA assumes the residual keeps decreasing geometrically at its
/// average rate since the first report (iterations left = ln(ρ/tol) / rate, at the measured seconds per
/// iteration), bounded by the iterations left; it is "?" while the residual has not decreased.
public final class SolverProgress: @unchecked Sendable {
    private let label: String
    private let clock = Stopwatch()
    private var last: IterationReport?
    private var first: IterationReport?
    private var lastPrint = -Progress.lineInterval
    private let lock = NSLock()
    private var hold: StatusLineHold?

    public init(_ label: String) {
        self.label = label
        hold = StatusLineHold { [weak self] in self?.text() ?? "" }
    }

    deinit { finish() }

    /// Removes the live line (idempotent; also on deinit).
    public func finish() { hold?.release() }

    /// Feeds one report (the driver calls this after each iteration).
    public func report(_ r: IterationReport) {
        lock.lock()
        if first == nil { first = r }
        last = r
        let t = clock.elapsed
        let due = t - lastPrint >= Progress.lineInterval
        if due { lastPrint = t }
        lock.unlock()
        switch Progress.mode {
        case .quiet: return
        case .terminal: StatusLine.shared.redraw()
        case .lines: if due { Progress.write(text() + "\n") }
        }
    }

    /// A closure for the solver's `progress:` argument.
    public var callback: (IterationReport) -> Void { { [weak self] in self?.report($0) } }

    /// Seconds left by the geometric-rate model, nil when unknown.
    public static func eta(first: IterationReport, last: IterationReport, secondsPerIteration: Double) -> Double? {
        let left = Double(max(0, last.maxIterations - last.iteration))
        guard last.iteration > first.iteration, first.residual > last.residual, last.residual > 0, last.tolerance > 0 else { return nil }
        if last.residual <= last.tolerance { return 0 }
        let rate = log(first.residual / last.residual) / Double(last.iteration - first.iteration)
        let needed = min(left, (log(last.residual / last.tolerance) / rate).rounded(.up))
        return needed * secondsPerIteration
    }

    func text() -> String {
        lock.lock(); defer { lock.unlock() }
        let t = clock.elapsed
        guard let r = last, let f = first else { return "\(label): first iteration · \(Progress.duration(t))" }
        let perIteration = r.elapsed / Double(max(1, r.iteration))
        let eta = SolverProgress.eta(first: f, last: r, secondsPerIteration: perIteration)
        return "\(label): iteration \(r.iteration)/\(r.maxIterations) · residual \(String(format: "%.2e", r.residual)) (tolerance \(String(format: "%.0e", r.tolerance))) · \(Progress.duration(t)) · ETA \(eta.map(Progress.duration) ?? "?")"
    }
}

/// The one live line at the bottom of a terminal: the innermost active progress owns it; a ticker redraws it
/// once a second so the elapsed time moves during long steps.
final class StatusLine: @unchecked Sendable {
    static let shared = StatusLine()

    private let lock = NSLock()
    private var providers: [() -> String] = []
    private var shown = false
    private var ticking = false

    func begin(_ provider: @escaping () -> String) {
        lock.lock(); defer { lock.unlock() }
        providers.append(provider)
        if !ticking {
            ticking = true
            DispatchQueue.global(qos: .utility).async { [weak self] in
                while let s = self, s.tick() { usleep(1_000_000) }
            }
        }
    }

    /// Removes the innermost provider; with `finalLine`, leaves that line on the screen.
    func end(finalLine: String? = nil) {
        lock.lock(); defer { lock.unlock() }
        if !providers.isEmpty { providers.removeLast() }
        if let l = finalLine {
            Progress.write("\r\u{1B}[2K" + StatusLine.fit(l) + "\n")
            shown = false
        } else if providers.isEmpty && shown {
            Progress.write("\r\u{1B}[2K")
            shown = false
        } else {
            drawLocked()
        }
    }

    func redraw() {
        lock.lock(); defer { lock.unlock() }
        drawLocked()
    }

    func printAbove(_ emit: () -> Void) {
        lock.lock(); defer { lock.unlock() }
        if shown { Progress.write("\r\u{1B}[2K"); shown = false }
        emit()
        drawLocked()
    }

    /// Ticker step: redraws; false (the ticker stops) once no progress is active.
    private func tick() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if providers.isEmpty { ticking = false; return false }
        drawLocked()
        return true
    }

    private func drawLocked() {
        guard let p = providers.last else { return }
        Progress.write("\r\u{1B}[2K" + StatusLine.fit(p()))
        shown = true
    }

    /// Truncated to the terminal's width (COLUMNS, else 100), so the line never wraps.
    static func fit(_ s: String) -> String {
        let cols = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init) ?? 100
        return s.count < cols ? s : String(s.prefix(max(10, cols - 2))) + "…"
    }
}

/// A live "still running" line for work without a finer measure of progress (e.g. a whole command): its label
/// and elapsed time, on a terminal only. Inner progress (a solver's iterations, counted points) takes the line
/// over while it runs.
public final class Activity: @unchecked Sendable {
    private let label: String
    private let clock = Stopwatch()
    private var hold: StatusLineHold?

    public init(_ label: String) {
        self.label = label
        hold = StatusLineHold { [weak self] in self?.text() ?? "" }
    }

    deinit { finish() }

    func text() -> String { "\(label): running · \(Progress.duration(clock.elapsed))" }

    /// Removes the line (idempotent); call before printing results on stdout.
    public func finish() { hold?.release() }
}

/// One progress object's place on the status line (terminal mode only), given back once.
final class StatusLineHold: @unchecked Sendable {
    private var held: Bool
    private let lock = NSLock()

    init(_ provider: @escaping () -> String) {
        held = Progress.mode == .terminal
        if held { StatusLine.shared.begin(provider) }
    }

    /// Gives the line back (idempotent); with `finalLine`, leaves that text on the screen.
    func release(finalLine: String? = nil) {
        lock.lock()
        let was = held
        held = false
        lock.unlock()
        if was { StatusLine.shared.end(finalLine: finalLine) }
    }
}
