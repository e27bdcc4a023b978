import Foundation

/// Progress of long work: a bar on a terminal, a plain line every few seconds otherwise, nothing when quiet.
/// Everything goes to stderr, so `--json` output on stdout stays one document.
public final class Progress: @unchecked Sendable {
    public enum Mode: Sendable { case quiet, terminal, lines }

    /// The process-wide mode, set by the CLI from `--quiet` and whether stderr is a terminal.
    nonisolated(unsafe) public static var mode: Mode = .quiet

    private let label: String
    private let total: Int
    private var done = 0
    private let clock = Stopwatch()
    private var lastPrint = -1.0
    private let lock = NSLock()

    public init(_ label: String, total: Int) {
        self.label = label
        self.total = max(1, total)
    }

    /// Marks `n` more units done.
    public func advance(_ n: Int = 1) {
        lock.lock(); defer { lock.unlock() }
        done += n
        let t = clock.elapsed
        switch Progress.mode {
        case .quiet: return
        case .terminal:
            if t - lastPrint < 0.1 && done < total { return }
            lastPrint = t
            let frac = Double(done) / Double(total)
            let width = 30
            let filled = Int(frac * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let line = "\r\(label) [\(bar)] \(done)/\(total) \(rateAndETA(t))"
            FileHandle.standardError.write(line.data(using: .utf8)!)
            if done >= total { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        case .lines:
            if t - lastPrint < 5 && done < total { return }
            lastPrint = t
            FileHandle.standardError.write("\(label): \(done)/\(total) \(rateAndETA(t))\n".data(using: .utf8)!)
        }
    }

    private func rateAndETA(_ t: Double) -> String {
        let rate = Double(done) / max(t, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : .infinity
        return String(format: "%.2f/s ETA %@", rate, eta.isFinite ? String(format: "%.0fs", eta) : "?")
    }
}
