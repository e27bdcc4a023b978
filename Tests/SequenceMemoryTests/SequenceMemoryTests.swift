import Foundation
import Testing
import NumericalCore
import SequenceMemory

private func rng(_ s: UInt64, _ p: UInt64 = 0) -> RandomStream { RandomStream(seed: s, point: p, sample: 0, purpose: "test") }

@Suite struct PatternTests {
    @Test func packedOverlapEqualsDense() throws {
        for (k, n) in [2, 7, 63, 64, 65, 130, 301].enumerated() {
            var r = rng(1, UInt64(k))
            let pats = try PatternSet.random(neurons: n, count: 9, rng: &r)
            for mu in 0..<9 {
                for nu in 0..<9 {
                    var dense = 0
                    for j in 0..<n { dense += Int(pats.values[mu * n + j] * pats.values[nu * n + j]) }
                    #expect(pats.dot(mu, nu) == dense)
                }
                let s: [Int8] = (0..<n).map { _ in r.rademacher() > 0 ? 1 : -1 }
                #expect(pats.overlaps(state: s)[mu] == pats.denseOverlap(mu, state: s))  // exact: both are integer / N
            }
            #expect(pats.gram()[0] == n)
        }
    }

    @Test func invalidInputs() throws {
        #expect(throws: SolvableError.self) { try PatternSet(rows: [[1, 0, 1]]) }
        #expect(throws: SolvableError.self) { try PatternSet(rows: [[1, -1], [1]]) }
        var r = rng(2)
        #expect(throws: SolvableError.self) { try PatternSet.random(neurons: 1, count: 3, rng: &r) }
        #expect(throws: SolvableError.self) { try PatternSet.biased(neurons: 10, count: 3, bias: 1.5, rng: &r) }
        let pats = try PatternSet.random(neurons: 10, count: 3, rng: &r)
        #expect(throws: SolvableError.self) { try Separation.validated(degree: 0) }
        #expect(throws: SolvableError.self) { try SequenceNetwork.mixedNet(patterns: pats, symmetric: .polynomial(1), asymmetric: .polynomial(1), lambda: -1) }
        #expect(throws: SolvableError.self) { try FilteredMixedNet(patterns: pats, symmetric: .polynomial(2), asymmetric: .polynomial(2), lambda: 2, tau: 0) }
        #expect(throws: SolvableError.self) { try FilteredMixedNet(patterns: pats, symmetric: .polynomial(2), asymmetric: .polynomial(2), lambda: 2, tau: 3, gains: [1]) }
        #expect(throws: SolvableError.self) { try MemoryModel(.denseNet(.polynomial(2)), bias: 2) }
        let net = try SequenceNetwork.denseNet(patterns: pats, separation: .polynomial(2))
        #expect(throws: SolvableError.self) { try net.trajectory(from: [1, 1], steps: 3) }
    }
}

@Suite struct FieldTests {
    /// Spec §11.1: the two-value trick equals brute force within 1e-12 max|H| (both in normalized units except the
    /// integer-unit polynomial, compared after dividing by (N-1)^d); signs agree outside the guard band.
    @Test func twoValueTrickEqualsBruteForce() throws {
        let fs: [Separation] = [.polynomial(1), .polynomial(2), .polynomial(3), .polynomial(15), .polynomial(200), .exponential]
        for (a, n) in [7, 16, 33].enumerated() {
            for (b, p) in [5, 40].enumerated() {
                var r = rng(3, UInt64(10 * a + b))
                let pats = try PatternSet.random(neurons: n, count: p, rng: &r)
                var nets = try fs.map { try SequenceNetwork.denseNet(patterns: pats, separation: $0) }
                nets.append(try .mixedNet(patterns: pats, symmetric: .polynomial(2), asymmetric: .polynomial(2), lambda: 2.5))
                for net in nets {
                    for trial in 0..<3 {
                        let s: [Int8] = trial == 0 ? pats.pattern(1) : (0..<n).map { _ in r.rademacher() > 0 ? 1 : -1 }
                        var h = net.field(s)
                        let ref = net.bruteForceField(s)
                        if net.integerUnits, case .polynomial(let d) = net.terms[0].separation {
                            h = h.map { $0 / pow(Double(n - 1), Double(d)) }
                        }
                        if net.terms[0].separation.isExp {
                            // the fast path is rescaled by a positive constant: compare directions
                            let c = (ref.map(abs).max()!) / (h.map(abs).max()!)
                            h = h.map { $0 * c }
                        }
                        let tol = 1e-12 * max(ref.map(abs).max()!, 1e-300) * 10
                        for i in 0..<n { #expect(abs(h[i] - ref[i]) <= tol, "N=\(n) P=\(p) i=\(i)") }
                    }
                }
            }
        }
    }

    /// Spec §11.3: N = 3, P = 2, xi1 = (+,+,+), xi2 = (-,+,+): h_1(xi1) = 0 and 1 -> 2 fails (self-excluded);
    /// the self-inclusive SeqNet gets it right.
    @Test func tieIsAnError() throws {
        let pats = try PatternSet(rows: [[1, 1, 1], [-1, 1, 1]])
        for f in [Separation.polynomial(1), .polynomial(2), .exponential] {
            let net = try SequenceNetwork.denseNet(patterns: pats, separation: f)
            #expect(net.exactSign(bit: 0, state: pats.pattern(0), dots: [3, 1]) == 0)
            #expect(!net.transitionCorrect(from: 0))
            #expect(net.checkTransitions().failures.contains(0))
        }
        let incl = try SequenceNetwork.denseNet(patterns: pats, separation: .polynomial(1), convention: .selfInclusive)
        #expect(incl.step(pats.pattern(0))[0] == -1)
    }

    /// Spec §11.4: a pair differing only at bit i with different successor bits aliases at bit i.
    @Test func aliasing() throws {
        var r = rng(4)
        let n = 12
        var rows = try PatternSet.random(neurons: n, count: 6, rng: &r).values.map(Double.init)
        for j in 0..<n { rows[3 * n + j] = rows[0 * n + j] }  // xi^4 = xi^1 except bit 5
        rows[3 * n + 5] = -rows[5]
        rows[1 * n + 5] = 1; rows[4 * n + 5] = -1  // successors differ at bit 5
        let pats = try PatternSet(rows: (0..<6).map { Array(rows[($0 * n)..<(($0 + 1) * n)]) })
        for f in [Separation.polynomial(2), .exponential] {
            let net = try SequenceNetwork.denseNet(patterns: pats, separation: f)
            let h0 = net.field(pats.pattern(0))[5], h3 = net.field(pats.pattern(3))[5]
            #expect(abs(h0 - h3) <= 1e-12 * max(abs(h0), 1))
            #expect(!(net.transitionCorrect(from: 0) && net.transitionCorrect(from: 3)))
        }
    }

    /// The GEMM all-transitions check agrees with the per-state check.
    @Test func gemmCheckMatchesSingleState() throws {
        for (k, f) in [Separation.polynomial(1), .polynomial(2), .polynomial(3), .polynomial(15), .exponential].enumerated() {
            var r = rng(5, UInt64(k))
            let pats = try PatternSet.random(neurons: 20, count: 60, rng: &r)
            let net = try SequenceNetwork.denseNet(patterns: pats, separation: f)
            let chk = net.checkTransitions(blockRows: 7)
            let chkD = net.checkTransitions(blockRows: 13, precision: .double)
            #expect(chk.checked == 60)
            #expect(chk.failures == chkD.failures && chk.wrongBits == chkD.wrongBits)
            for nu in 0..<60 { #expect(net.transitionCorrect(from: nu) == !chk.failures.contains(nu)) }
        }
    }

    /// The sparse exponential path (P > 8N) equals the per-state check, both conventions and the exp MixedNet.
    @Test func sparseExponentialMatchesSingleState() throws {
        for (k, n) in [10, 12].enumerated() {
            var r = rng(12, UInt64(k))
            let pats = try PatternSet.random(neurons: n, count: 400, rng: &r)
            let nets = [try SequenceNetwork.denseNet(patterns: pats, separation: .exponential),
                        try SequenceNetwork.denseNet(patterns: pats, separation: .exponential, convention: .selfInclusive),
                        try SequenceNetwork.mixedNet(patterns: pats, symmetric: .exponential, asymmetric: .exponential, lambda: 2.5)]
            for net in nets {
                let chk = net.checkTransitions()
                #expect(chk.checked == 400)
                #expect(!chk.failures.isEmpty)  // far above the near-duplicate capacity
                for nu in 0..<400 { #expect(net.transitionCorrect(from: nu) == !chk.failures.contains(nu)) }
            }
        }
    }
}

@Suite struct CircuitTests {
    /// Spec §11.10: the hidden-neuron circuit reproduces the DenseNet trajectory bit for bit.
    @Test func circuitEqualsDenseNet() throws {
        var r = rng(6)
        let pats = try PatternSet.random(neurons: 12, count: 30, rng: &r)
        for f in [Separation.polynomial(1), .polynomial(2), .polynomial(3), .exponential] {
            for start in [pats.pattern(0), PatternSet.corrupt(pats.pattern(4), fraction: 0.25, rng: &r)] {
                let incl = try SequenceNetwork.denseNet(patterns: pats, separation: f, convention: .selfInclusive)
                let c1 = try HiddenNeuronCircuit(patterns: pats, separation: f)
                #expect(try incl.trajectory(from: start, steps: 40) == c1.trajectory(from: start, steps: 40))
                let excl = try SequenceNetwork.denseNet(patterns: pats, separation: f)
                let c2 = try HiddenNeuronCircuit(patterns: pats, separation: f, selfCorrected: true)
                #expect(try excl.trajectory(from: start, steps: 40) == c2.trajectory(from: start, steps: 40))
                let mixed = try SequenceNetwork.mixedNet(patterns: pats, symmetric: f, asymmetric: f, lambda: 2.5, convention: .selfInclusive)
                let c3 = try HiddenNeuronCircuit(patterns: pats, separation: f, lambda: 2.5)
                #expect(try mixed.trajectory(from: start, steps: 40) == c3.trajectory(from: start, steps: 40))
            }
        }
    }
}

@Suite struct PseudoinverseTests {
    /// Spec §11.6 (reduced grid) and the issue: GPI recalls every transition of orthogonal and of linearly
    /// independent correlated patterns where the Hebbian DenseNet fails.
    @Test func gpiRecallsCorrelatedPatterns() throws {
        // Orthogonal: Walsh-Hadamard rows of a 64 x 64 Sylvester matrix (rows 1..40; row 0 is all +1).
        let n = 64
        var had = [[Double]](repeating: [1], count: 1)
        while had.count < n { had = had.map { $0 + $0 } + had.map { $0 + $0.map { -$0 } } }
        let orth = try PatternSet(rows: Array(had[1...40]))
        let gOrth = try PseudoinverseNetwork(patterns: orth, separation: .polynomial(1))
        #expect(gOrth.rank == 40)
        #expect(gOrth.checkTransitions().allCorrect)
        for eps in [0.5, 0.8] {
            for d in [1, 2, 3] {
                for p in [20, 50, 80] {
                    var r = rng(7, UInt64(p * 10 + d))
                    let pats = try PatternSet.biased(neurons: 100, count: p, bias: eps, rng: &r)
                    let gpi = try PseudoinverseNetwork(patterns: pats, separation: .polynomial(d))
                    #expect(gpi.rank == p)
                    let a = gpi.coefficients(pats.pattern(3))
                    for mu in 0..<p { #expect(abs(a[mu] - (mu == 3 ? 1 : 0)) <= 1e-9) }
                    #expect(gpi.checkTransitions().allCorrect, "GPI eps=\(eps) d=\(d) P=\(p)")
                    if p >= 50 {
                        let heb = try SequenceNetwork.denseNet(patterns: pats, separation: .polynomial(d))
                        #expect(!heb.checkTransitions().allCorrect, "Hebbian eps=\(eps) d=\(d) P=\(p) should fail")
                    }
                }
            }
        }
    }
}

@Suite struct MixedNetTests {
    /// Spec §11.7: N = 100, P = 40, tau = 5, lambda = 2.5, d = 10: S(t) = xi^{floor(t/5)+1}, S(200) = xi^1.
    @Test func dwellEqualsTau() throws {
        for seed in [1, 2, 3] as [UInt64] {
            var r = rng(8, seed)
            let pats = try PatternSet.random(neurons: 100, count: 40, rng: &r)
            let net = try FilteredMixedNet(patterns: pats, symmetric: .polynomial(10), asymmetric: .polynomial(10), lambda: 2.5, tau: 5)
            let run = try net.run()
            #expect(run.states.count == 201)
            for t in 0..<200 { #expect(run.states[t] == pats.pattern(t / 5), "t=\(t)") }
            #expect(run.states[200] == pats.pattern(0))
        }
    }

    /// Spec §11.8: lambda = 0.8 never leaves xi^1.
    @Test func lambdaBelowOneStays() throws {
        var r = rng(9)
        let pats = try PatternSet.random(neurons: 100, count: 40, rng: &r)
        let net = try FilteredMixedNet(patterns: pats, symmetric: .polynomial(10), asymmetric: .polynomial(10), lambda: 0.8, tau: 5)
        let run = try net.run()
        for s in run.states { #expect(s == pats.pattern(0)) }
    }

    /// Spec §11.9: the dwell-time rule.
    @Test func dwellRule() {
        func d(_ t: Int, _ l: Double, _ deg: Int) -> Int? {
            CapacityTheory.dwellTime(tau: t, lambda: l, symmetric: .polynomial(deg), asymmetric: .polynomial(deg))
        }
        #expect(d(5, 2.5, 10) == 5); #expect(d(5, 2.5, 5) == 5); #expect(d(5, 2.5, 2) == 4)
        #expect(d(5, 10, 2) == 3); #expect(d(3, 1.5, 10) == 3); #expect(d(8, 2.5, 20) == 8)
        #expect(d(5, 0.8, 3) == nil)
        #expect(abs(log(2.5) / log(1.25) - 4.106) < 5e-4)
    }
}

@Suite struct TheoryTests {
    /// Spec §11.13 closed forms (in floating point, relative 1e-12) and n^k E M^{2k} < (2k-1)!!.
    @Test func moments() {
        for n in [3, 7, 20] {
            let x = Double(n)
            #expect(abs(x * x * CapacityTheory.moment(n: n, power: 4) - (3 - 2 / x)) < 1e-12)
            #expect(abs(pow(x, 3) * CapacityTheory.moment(n: n, power: 6) - (15 - 30 / x + 16 / (x * x))) < 1e-11)
            #expect(abs(pow(x, 4) * CapacityTheory.moment(n: n, power: 8) - (105 - 420 / x + 588 / (x * x) - 272 / pow(x, 3))) < 1e-10)
            for k in 1...4 { #expect(pow(x, Double(k)) * CapacityTheory.moment(n: n, power: 2 * k) < CapacityTheory.doubleFactorial(2 * k - 1) + 1e-12) }
        }
    }

    /// Spec §11.14 and §9: beta, eq. (9)/(10) table values to 3 significant figures, eq. (9) argmax (§11.11).
    @Test func constantsAndTable() {
        #expect(abs(CapacityTheory.beta - 1.9640276) < 1e-7)
        let t9: [(Int, Int, Double, Double)] = [(1, 100, 10.9, 5.43), (2, 50, 106.5, 35.5), (2, 100, 361.9, 120.6), (3, 30, 264.6, 66.15), (4, 20, 254, 50.9)]
        for (d, n, pt, ps) in t9 {
            #expect(abs(CapacityTheory.leadingOrderTransitionCapacity(neurons: n, separation: .polynomial(d)) / pt - 1) < 5e-3)
            #expect(abs(CapacityTheory.leadingOrderSequenceCapacity(neurons: n, separation: .polynomial(d)) / ps - 1) < 5e-3)
        }
        for (n, lt, ls) in [(10, 1.98, 1.51), (20, 4.79, 4.14), (25, 6.23, 5.51)] as [(Int, Double, Double)] {
            #expect(abs(log10(CapacityTheory.leadingOrderTransitionCapacity(neurons: n, separation: .exponential)) - lt) < 0.01)
            #expect(abs(log10(CapacityTheory.leadingOrderSequenceCapacity(neurons: n, separation: .exponential)) - ls) < 0.01)
        }
        #expect(CapacityTheory.eq9ArgmaxDegree(neurons: 10) == 5)
        #expect([7, 8].contains(CapacityTheory.eq9ArgmaxDegree(neurons: 15)))
        #expect(CapacityTheory.eq9ArgmaxDegree(neurons: 20) == 10)
        #expect(CapacityTheory.eq9ArgmaxDegree(neurons: 50) == 25)
        #expect(CapacityTheory.eq9ArgmaxDegree(neurons: 100) == 50)
        #expect(abs(CapacityTheory.crosstalkVariancePerPattern(.exponential, neurons: 11) - pow(CapacityTheory.beta, -10)) < 1e-15)
    }

    /// The crosstalk variance from network samples matches Var C = (P-1) E f(M)^2 (spec §4.2). One bit per network
    /// (independent samples). Sampling error of a variance: s.e.(s^2)/sigma^2 = sqrt((2 + kappa)/n) with the
    /// excess kurtosis kappa = K_d/(P-1) (poly) or [(cosh4/cosh^2 2)^{N-1} - 3]/(P-1) (exp) of spec §4.5; the
    /// tolerance is 4 standard errors (two-sided p ~ 6e-5), plus the same on the mean.
    @Test func crosstalkVarianceMatchesMomentFormula() throws {
        let cases: [(Separation, Int, Int, Int, Double)] = [
            (.polynomial(1), 40, 30, 4000, 0), (.polynomial(2), 50, 30, 4000, 26.0 / 3), (.exponential, 10, 1000, 3000, pow(cosh(4.0) / pow(cosh(2.0), 2), 9) - 3)]
        for (k, c) in cases.enumerated() {
            let (f, n, p, samples, kd) = c
            let xs: [Double] = try ThreadPolicy.parallelMap(samples) { t in
                var r = RandomStream(seed: 11, point: UInt64(k), sample: UInt64(t))
                let pats = try PatternSet.random(neurons: n, count: p, rng: &r)
                return try SequenceNetwork.denseNet(patterns: pats, separation: f).crosstalk(at: 0)[0]
            }
            let v = Double(p - 1) * CapacityTheory.crosstalkVariancePerPattern(f, neurons: n)
            let kappa = max(0, kd) / Double(p - 1)
            let relSE = ((2 + kappa) / Double(samples)).squareRoot()
            let sv = Statistics.variance(xs)
            #expect(abs(sv / v - 1) <= 4 * relSE, "\(f): sample var \(sv) vs \(v), tol \(4 * relSE)")
            #expect(abs(Statistics.mean(xs)) <= 4 * (v / Double(samples)).squareRoot())
        }
    }
}

@Suite struct CapacityTests {
    /// The estimator brackets and returns an interval containing P_lo..P_hi for a small case (N = 30, d = 1).
    @Test func estimatorProtocol() throws {
        let model = try MemoryModel(.denseNet(.polynomial(2)))
        let pred = CapacityTheory.finiteNP50(neurons: 30, separation: .polynomial(2), criterion: .sequence)
        let est = try CapacityEstimator.estimateP50(model: model, neurons: 30, criterion: .sequence, trials: 200, start: pred, seed: 3)
        #expect(est.pLow < est.pHigh)
        #expect(est.pHigh - est.pLow <= max(1, Int((0.01 * Double(est.pLow)).rounded(.up))))
        #expect(est.intervalLower <= est.p50 && est.p50 <= est.intervalUpper)
        #expect(est.points.count >= 4)
    }
}

extension Separation { var isExp: Bool { if case .exponential = self { return true }; return false } }

@Suite struct ExtensionTests {
    /// The quenched SeqNet prediction lies above the independent-bit (exact-binomial) one: averaging over shared
    /// overlaps (Jensen) raises Pr[all bits OK]. Deterministic given its seed.
    @Test func quenchedAboveIndependent() {
        for n in [30, 100] {
            let q = CapacityTheory.quenchedSeqNetP50(neurons: n, criterion: .sequence, samples: 1000)
            let e = CapacityTheory.finiteNP50(neurons: n, separation: .polynomial(1), criterion: .sequence, exactSeqNet: true)
            #expect(q > e && q < 1.3 * e, "N=\(n): quenched \(q) vs exact-binomial \(e)")
        }
    }

    /// Spec §4.5: excess kurtosis K_d/(P-1) with K_2 = 26/3 at large n (here n = 10^4 - 1, relative 1e-2).
    @Test func kurtosis() {
        let k = CapacityTheory.crosstalkExcessKurtosis(patterns: 11, neurons: 10_000, separation: .polynomial(2))
        #expect(abs(k * 10 / (26.0 / 3) - 1) < 1e-2)
        let ke = CapacityTheory.crosstalkExcessKurtosis(patterns: 101, neurons: 19, separation: .exponential)
        #expect(abs(ke - (pow(cosh(4.0) / pow(cosh(2.0), 2), 18) - 3) / 100) < 1e-9 * abs(ke))
    }

    /// Basins: an uncorrupted start is always recalled well below capacity; the complement -xi^1 never is for odd d
    /// (h(-S) = -h(S), so the trajectory is -xi^{t+1}), while 10 % noise is corrected at P = 30 << capacity.
    @Test func basin() throws {
        let model = try MemoryModel(.denseNet(.polynomial(3)))
        let b = try NoiseRobustness.basin(model: model, neurons: 100, patterns: 30, flips: [0, 1, 0.1], trials: 30, seed: 1)
        #expect(b[2].recalled == 30)
        #expect(b[0].recalled == 30)
        #expect(b[1].recalled == 0)
    }
}
