import Foundation
import NumericalCore

/// Noise robustness (docs/theory/sequence-memory.md §1, issue 4): recall of the sequence from a corrupted start state.
public enum NoiseRobustness {
    /// One point of a basin curve.
    public struct BasinPoint: Sendable {
        public var flipFraction: Double
        public var recalled: Int
        public var trials: Int
        public var fraction: Double { Double(recalled) / Double(trials) }
        /// Wilson 95 % interval.
        public var lower: Double
        public var upper: Double
    }

    /// Basin of attraction of the stored sequence: for each flip fraction, the fraction of trials in which the network
    /// started from xi^1 with round(flip N) bits flipped is exactly on the sequence (S(t) = xi^{(t mod P)+1}) after
    /// `settle` steps and stays on it for `settle` more. Each trial draws fresh patterns from
    /// RandomStream(seed, point: flip index, sample: trial) (purpose "patterns", then "flips").
    public static func basin(model: MemoryModel, neurons: Int, patterns p: Int, flips: [Double], trials: Int,
                             settle: Int = 5, seed: UInt64, threads: Int? = nil) throws -> [BasinPoint] {
        try Validate.inRange("trials", trials, 1...10_000_000)
        try Validate.nonEmpty("flips", flips)
        for f in flips { try Validate.inRange("flips", f, 0...1) }
        return try flips.enumerated().map { (k, flip) in
            let ok: [Bool] = try ThreadPolicy.parallelMap(trials, threads: threads) { t in
                var rng = RandomStream(seed: seed, point: UInt64(k), sample: UInt64(t), purpose: "patterns")
                let pats = try PatternSet.biased(neurons: neurons, count: p, bias: model.bias, rng: &rng)
                var frng = RandomStream(seed: seed, point: UInt64(k), sample: UInt64(t), purpose: "flips")
                var s = PatternSet.corrupt(pats.pattern(0), fraction: flip, rng: &frng)
                let step: ([Int8]) -> [Int8]
                switch model.kind {
                case .denseNet(let f):
                    let net = try SequenceNetwork.denseNet(patterns: pats, separation: f, convention: model.convention)
                    step = net.step
                case .mixedNet(let a, let b, let l):
                    let net = try SequenceNetwork.mixedNet(patterns: pats, symmetric: a, asymmetric: b, lambda: l, convention: model.convention)
                    step = net.step
                case .pseudoinverse(let f):
                    let net = try PseudoinverseNetwork(patterns: pats, separation: f)
                    step = net.step
                }
                for t in 1...(2 * settle) {
                    s = step(s)
                    if t >= settle && s != pats.pattern(t % p) { return false }
                }
                return true
            }
            let r = ok.filter { $0 }.count
            let w = Statistics.wilsonInterval(successes: r, trials: trials)
            return BasinPoint(flipFraction: flip, recalled: r, trials: trials, lower: w.lower, upper: w.upper)
        }
    }
}
