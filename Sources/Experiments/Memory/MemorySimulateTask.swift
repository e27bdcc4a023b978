import Foundation
import NumericalCore
import SequenceMemory

/// Shared parameter parsing for the memory commands.
enum MemoryArgs {
    static func separation(_ name: String, degree: Int) throws -> Separation {
        switch name {
        case "exponential": return .exponential
        case "polynomial": return try Separation.validated(degree: degree)
        default: throw SolvableError.invalidParameter(name: "separation", value: name, allowed: "polynomial or exponential")
        }
    }

    /// Patterns: a user file (.npy / CSV of +-1 rows), else random / biased / template patterns.
    static func patterns(_ p: Parameters, seed: UInt64) throws -> PatternSet {
        if let f = p.optionalString("patterns_file") {
            let rows: [[Double]]
            do { rows = try CSV.readRows(f) } catch SolvableError.invalidInput(_, let detail) {
                throw SolvableError.invalidParameter(name: "patterns_file", value: f, allowed: "a .npy or CSV file of +-1 rows of equal length (\(detail))")
            }
            guard !rows.isEmpty else {
                throw SolvableError.invalidParameter(name: "patterns_file", value: f, allowed: "a .npy or CSV file with at least one row of +-1 entries (this one is empty)")
            }
            let pats: PatternSet
            do { pats = try PatternSet(rows: rows) } catch SolvableError.invalidParameter(_, let value, let allowed) {
                throw SolvableError.invalidParameter(name: "patterns_file", value: "\(value) in \(f)", allowed: allowed)
            }
            try MemoryBudget.check(MemoryBudget.trialBytes(neurons: pats.neurons, patterns: pats.count), hint: "P = \(pats.count) patterns of N = \(pats.neurons) neurons from \(f)")
            return pats
        }
        var rng = RandomStream(seed: seed, point: 0, sample: 0, purpose: "patterns")
        let n = p.int("neurons"), count = p.int("patterns")
        try MemoryBudget.check(MemoryBudget.trialBytes(neurons: n, patterns: count, pseudoinverse: p.optionalString("network") == "gpi"),
                               hint: "P = \(count) patterns of N = \(n) neurons; lower patterns or neurons")
        if p.double("similarity") > 0 { return try PatternSet.template(neurons: n, count: count, similarity: p.double("similarity"), rng: &rng) }
        return try PatternSet.biased(neurons: n, count: count, bias: p.double("bias"), rng: &rng)
    }

    static let patternParameters: [ParameterSpec] = [
        ParameterSpec("neurons", .int(2...100_000), default: .int(300), help: "N"),
        ParameterSpec("patterns", .int(1...1_000_000), default: .int(100), help: "P, sequence length"),
        ParameterSpec("bias", .double(-0.99...0.99), default: .double(0), help: "pattern bias epsilon, Pr(+1) = (1+epsilon)/2"),
        ParameterSpec("similarity", .double(0...1), default: .double(0), help: "shared-template similarity (each bit copies a common template with this probability)"),
        ParameterSpec("patterns_file", .file, help: "user patterns: .npy or CSV of +-1 rows (overrides neurons/patterns)"),
    ]
}

/// `solvable memory simulate`: one stored sequence recalled from its first pattern (optionally corrupted).
public enum MemorySimulateTask: ComputeTask {
    public static let commandPath = ["memory", "simulate"]
    public static let abstract = "Serial recall of one sequence: overlaps m^mu(t) over time and recall errors (SeqNet, DenseNet, GPI, hidden-neuron circuit)."
    public static let discussion = """
        Synchronous updates x_i(t+1) = sgn sum_mu xi_i^{mu+1} f(m_i^mu(t)) with self-excluded overlaps normalized by
        N-1 (docs/theory/sequence-memory.md §2.1); f = m^d or exp((N-1)(m-1)); `--network gpi` uses the generalized pseudoinverse rule (§2.2),
        `--network circuit` the two-layer hidden-neuron circuit (§2.4, compared bit for bit with the DenseNet),
        `--network mixed` the tau = 1 MixedNet. Starts at xi^1 with `--flip` of its bits flipped. Reports the overlaps
        xi^mu . S(t)/N, the bits differing from the expected pattern xi^{(t mod P)+1}, and the bulk transition check.
        """
    public static let examples = ["solvable memory simulate --neurons 300 --patterns 100 --degree 2 --steps 100 --json",
                                  "solvable memory simulate --neurons 100 --patterns 40 --network gpi --bias 0.6 --steps 40",
                                  "solvable memory simulate --neurons 40 --patterns 30 --network circuit --separation exponential --steps 30",
                                  "solvable memory simulate --neurons 100 --patterns 50 --degree 2 --steps 20 --basin-flips 0,0.1,0.2,0.3,0.4 --basin-trials 40"]
    public static let parameters: [ParameterSpec] = MemoryArgs.patternParameters + [
        ParameterSpec("network", .choice(["dense", "gpi", "circuit", "mixed"]), default: .string("dense"), help: "network"),
        ParameterSpec("separation", .choice(["polynomial", "exponential"]), default: .string("polynomial"), help: "separation function f"),
        ParameterSpec("degree", .int(1...1000), default: .int(2), help: "d for f = m^d (1 = SeqNet)"),
        ParameterSpec("lambda", .double(0...1000), default: .double(2.5), help: "MixedNet asymmetric strength"),
        ParameterSpec("steps", .int(0...1_000_000), default: .int(100), help: "synchronous updates"),
        ParameterSpec("flip", .double(0...1), default: .double(0), help: "fraction of bits of xi^1 flipped in the start state"),
        ParameterSpec("boundary", .choice(["periodic", "open"]), default: .string("periodic"), help: "sequence boundary"),
        ParameterSpec("convention", .choice(["self-excluded", "self-inclusive"]), default: .string("self-excluded"), help: "overlap convention"),
        ParameterSpec("basin_flips", .doubleList(0...1), help: "also measure the basin of attraction: fractions of flipped start bits"),
        ParameterSpec("basin_trials", .int(1...1_000_000), default: .int(100), help: "random sequences per basin point"),
    ]

    public struct Output {
        public var trajectory: [[Int8]]
        public var overlaps: [[Double]]
        public var errors: [Int]
        public var check: TransitionCheck?
        public var circuitMatchesDenseNet: Bool?
    }

    public static func compute(patterns pats: PatternSet, network: String, separation f: Separation, lambda: Double, steps: Int,
                               flip: Double, boundary: Boundary, convention: OverlapConvention, seed: UInt64) throws -> Output {
        var rng = RandomStream(seed: seed, point: 0, sample: 0, purpose: "start")
        let start = PatternSet.corrupt(pats.pattern(0), fraction: flip, rng: &rng)
        var traj: [[Int8]]
        var check: TransitionCheck? = nil
        var match: Bool? = nil
        switch network {
        case "gpi":
            let net = try PseudoinverseNetwork(patterns: pats, separation: f, boundary: boundary)
            traj = [start]
            for _ in 0..<steps { traj.append(net.step(traj[traj.count - 1])) }
            if pats.count <= pats.neurons { check = net.checkTransitions() }
        case "circuit":
            let circ = try HiddenNeuronCircuit(patterns: pats, separation: f, selfCorrected: convention == .selfExcluded, boundary: boundary)
            traj = circ.trajectory(from: start, steps: steps)
            let dn = try SequenceNetwork.denseNet(patterns: pats, separation: f, boundary: boundary, convention: convention)
            match = try dn.trajectory(from: start, steps: steps) == traj
            check = dn.checkTransitions()
        case "mixed":
            let net = try SequenceNetwork.mixedNet(patterns: pats, symmetric: f, asymmetric: f, lambda: lambda, boundary: boundary, convention: convention)
            traj = try net.trajectory(from: start, steps: steps)
            check = net.checkTransitions()
        default:
            let net = try SequenceNetwork.denseNet(patterns: pats, separation: f, boundary: boundary, convention: convention)
            traj = try net.trajectory(from: start, steps: steps)
            check = net.checkTransitions()
        }
        let ov = traj.map { pats.overlaps(state: $0) }
        let p = pats.count, n = pats.neurons
        let errs = traj.enumerated().map { (t, s) -> Int in
            let mu = boundary == .periodic ? t % p : min(t, p - 1)
            var e = 0
            for i in 0..<n where s[i] != pats.values[mu * n + i] { e += 1 }
            return e
        }
        return Output(trajectory: traj, overlaps: ov, errors: errs, check: check, circuitMatchesDenseNet: match)
    }

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let pats = try MemoryArgs.patterns(p, seed: ctx.seed)
        let f = try MemoryArgs.separation(p.string("separation"), degree: p.int("degree"))
        let conv = OverlapConvention(rawValue: p.string("convention"))!
        let o = try compute(patterns: pats, network: p.string("network"), separation: f, lambda: p.double("lambda"), steps: p.int("steps"),
                            flip: p.double("flip"), boundary: Boundary(rawValue: p.string("boundary"))!, convention: conv, seed: ctx.seed)
        let firstError = o.errors.firstIndex { $0 > 0 }
        var summary: [(String, JSONValue)] = [
            ("network", .string(p.string("network"))), ("separation", .string(f.description)), ("neurons", .int(pats.neurons)),
            ("patterns", .int(pats.count)), ("steps", .int(o.trajectory.count - 1)),
            ("first_step_off_sequence", firstError.map { .int($0) } ?? .null),
            ("final_recall_errors", .int(o.errors.last ?? 0)),
            ("steps_exactly_on_sequence", .int(o.errors.filter { $0 == 0 }.count)),
        ]
        if let c = o.check {
            summary.append(("transitions_checked", .int(c.checked)))
            summary.append(("transitions_failed", .int(c.failures.count)))
        }
        if let m = o.circuitMatchesDenseNet { summary.append(("circuit_matches_densenet", .bool(m))) }
        var out = TaskOutput(summary: .object(summary))
        var t = ResultTable()
        t.add("step", (0..<o.errors.count).map(Double.init))
        t.add("recall_errors", o.errors.map(Double.init))
        t.add("overlap_expected", o.overlaps.enumerated().map { $0.element[$0.offset % pats.count] })
        out.tables = [("recall", t)]
        out.arrays = [("overlaps", NDArray(rows: o.overlaps))]
        var plot = Plot(title: "overlaps m^mu(t) (first 8 patterns)", xLabel: "t", yLabel: "m^mu")
        for mu in 0..<min(8, pats.count) {
            plot.series.append(Plot.Series(label: "mu=\(mu + 1)", x: (0..<o.overlaps.count).map(Double.init), y: o.overlaps.map { $0[mu] }, style: .line, color: mu))
        }
        var ep = Plot(title: "recall errors", xLabel: "t", yLabel: "bits differing from xi^{(t mod P)+1}")
        ep.series.append(Plot.Series(label: "errors", x: (0..<o.errors.count).map(Double.init), y: o.errors.map(Double.init), style: .linePoints, color: 1))
        out.plots = [("overlaps", plot), ("errors", ep)]
        if let flips = p.optionalDoubles("basin_flips") {
            let kind: MemoryModel.Kind
            switch p.string("network") {
            case "gpi": kind = .pseudoinverse(f)
            case "mixed": kind = .mixedNet(symmetric: f, asymmetric: f, lambda: p.double("lambda"))
            default: kind = .denseNet(f)
            }
            let model = try MemoryModel(kind, convention: conv, bias: p.double("bias"))
            let b = try NoiseRobustness.basin(model: model, neurons: pats.neurons, patterns: pats.count, flips: flips,
                                              trials: p.int("basin_trials"), seed: ctx.seed, threads: ctx.threads)
            var bt = ResultTable()
            bt.add("flip_fraction", b.map(\.flipFraction)); bt.add("recalled_fraction", b.map(\.fraction))
            bt.add("wilson_lower", b.map(\.lower)); bt.add("wilson_upper", b.map(\.upper))
            out.tables.append(("basin", bt))
            var bp = Plot(title: "basin of attraction (N = \(pats.neurons), P = \(pats.count))", xLabel: "fraction of flipped start bits", yLabel: "fraction recalled")
            bp.series.append(Plot.Series(label: "simulation (Wilson 95 %)", x: b.map(\.flipFraction), y: b.map(\.fraction),
                                         yError: b.map { ($0.upper - $0.lower) / 2 }, style: .linePoints, color: 2))
            out.plots.append(("basin", bp))
            if case .object(var kv) = out.summary {
                kv.append(("basin", .array(b.map { .object([("flip", .number($0.flipFraction)), ("recalled", .number($0.fraction))]) })))
                out.summary = .object(kv)
            }
        }
        if let m = o.circuitMatchesDenseNet {
            out.agreement = [Agreement(statistic: "circuit trajectory identical to DenseNet (1 = yes)", value: m ? 1 : 0, tolerance: 1, higherIsBetter: true,
                                       detail: "bit-for-bit equality, docs/theory/sequence-memory.md §2.4")]
        }
        return out
    }
}
