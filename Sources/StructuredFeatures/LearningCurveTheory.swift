import Foundation
import NumericalCore

/// One point of the learning-curve theory: errors and solved order parameters at (P, λ).
public struct TheoryPoint: Sendable {
    /// Sample count P (a positive real in the theory).
    public var samples: Double
    /// Ridge λ (canonical, §1.3); 0 is the ridgeless limit.
    public var ridge: Double
    /// d, the degrees of freedom Tr H(H + κ0)⁻¹ (§4.2); P or n_min in the ridgeless limit.
    public var degreesOfFreedom: Double
    /// κ_ℓ for ℓ = 1..L+1 (κ_1 acts on C1; the last is the readout layer Γ; L = 0 has only κ_1).
    public var kappa: [Double]
    /// χ_ℓ for ℓ = 1..L+1 (+∞ for a layer at its rank bound).
    public var chi: [Double]
    /// Λ = 1 + Σ χ_ℓ.
    public var Lambda: Double
    /// Bias sums b1, b2 at κ_1 (§4.3).
    public var b1: Double
    public var b2: Double
    /// ε_g = (θ̂ − θ*)ᵀ Σ0 (θ̂ − θ*) (+∞ at the interpolation peak).
    public var generalizationError: Double
    /// E_test = ε_g + η².
    public var testError: Double
    /// E_train = (1 − d/P)² E_test.
    public var trainingError: Double
    public var record: ConvergenceRecord
}

/// The optimal ridge λ*(P) = argmin_λ ε_g by bounded Brent minimisation over ln λ (§5).
public struct OptimalRidge: Sendable {
    public var ridge: Double
    public var point: TheoryPoint
    public var record: ConvergenceRecord
}

/// Learning-curve theory of deep structured Gaussian features (Zavatone-Veth & Pehlevan, NeurIPS 2023), in the
/// deterministic-equivalent form of docs/theory/structured-features.md §4. One scalar unknown d solves the master equation (λ > 0)
///
///     λ = κ_1(d) · (1 − d/P) · Π_{ℓ=1}^{L} (1 − d/n_ℓ) · Π_{ℓ=2}^{L+1} π_ℓ(d),
///
/// and the errors follow from (§4.3) Λ = 1 + Σχ_ℓ, γ = (1 + χ_1)/Λ, B = γ b2 + (1 − γ) b1,
/// E_test = (B + η²)/(1 − (d/P)(1 − 1/Λ)), ε_g = E_test − η², E_train = (1 − d/P)² E_test.
/// λ = 0 uses the ridgeless closed forms of §4.4, with ε_g = +∞ at P = n_min when b1* + η² > 0.
public struct LearningCurveTheory: Sendable {
    /// S_1 = spec(C1) with the projected teacher.
    public let first: ProjectedTeacher
    /// S_2..S_{L+1}: the hidden covariances Σ_2..Σ_L and the readout Γ (size n_L); empty for L = 0.
    public let later: [Spectrum]
    /// η².
    public let noiseVariance: Double
    /// Iteration budget of every root solve: the outer master-equation solve for d (safeguarded Newton, then a
    /// Brent fallback, each at most this many steps) and each inner solve κ_S(d) (Newton). A solve that runs out
    /// returns its last iterate with status `maxIterations` in the point's `ConvergenceRecord`, whose message names
    /// the solver.
    public let maxIterations: Int

    public static let defaultMaxIterations = 200

    public init(first: ProjectedTeacher, later: [Spectrum], noiseVariance: Double,
                maxIterations: Int = LearningCurveTheory.defaultMaxIterations) throws {
        try Validate.nonNegative("noise", noiseVariance)
        try Validate.inRange("max_iterations", maxIterations, 1...1_000_000)
        self.first = first
        self.later = later
        self.noiseVariance = noiseVariance
        self.maxIterations = maxIterations
    }

    /// The same theory with another iteration budget (validated: 1...1_000_000).
    public func withMaxIterations(_ n: Int) throws -> LearningCurveTheory {
        try LearningCurveTheory(first: first, later: later, noiseVariance: noiseVariance, maxIterations: n)
    }

    /// "S_1 (C1)", "S_2 (Σ2)", ..., "S_{L+1} (readout Γ)": names of the spectra in non-convergence messages.
    func spectrumName(_ k: Int) -> String {
        if k == 0 { return "S_1 (C1 = Σ0^½Σ1Σ0^½)" }
        return k == later.count ? "S_\(k + 1) (readout Γ)" : "S_\(k + 1) (Σ\(k + 1))"
    }

    /// The message of a point whose inner solves did not all converge.
    func innerFailure(_ states: [Spectrum.State]) -> String? {
        let bad = states.indices.filter { !states[$0].converged }
        if bad.isEmpty { return nil }
        return "inner solve κ_S(d) of \(bad.map(spectrumName).joined(separator: ", ")) did not converge within \(maxIterations) iterations"
    }

    /// Number of layers L.
    public var depth: Int { later.count }
    /// Widths n_1..n_L (the sizes of S_2..S_{L+1}).
    public var widths: [Double] { later.map(\.size) }
    /// n_min = min_ℓ rank S_ℓ: the location of the ridgeless interpolation peak.
    public var minimalRank: Double { later.reduce(first.spectrum.rank) { min($0, $1.rank) } }

    /// Theory at sample count P >= 0 (> 0) and ridge λ >= 0.
    public func evaluate(samples P: Double, ridge lambda: Double) throws -> TheoryPoint {
        guard P.isFinite, P > 0 else {
            throw SolvableError.invalidParameter(name: "samples", value: "\(P)", allowed: "a finite P > 0")
        }
        guard lambda.isFinite, lambda >= 0 else {
            throw SolvableError.invalidParameter(name: "lambda", value: "\(lambda)", allowed: "a finite ridge >= 0")
        }
        return lambda == 0 ? ridgeless(P) : ridge(P, lambda)
    }

    /// Theory along a list of sample counts (points solved in parallel).
    public func curve(samples: [Double], ridge lambda: Double, threads: Int? = nil) throws -> [TheoryPoint] {
        for P in samples where !(P > 0) {
            throw SolvableError.invalidParameter(name: "samples", value: "\(P)", allowed: "P > 0")
        }
        return try ThreadPolicy.parallelMap(samples.count, threads: samples.count < 8 ? 1 : threads) { k in
            try evaluate(samples: samples[k], ridge: lambda)
        }
    }

    /// λ*(P) minimising ε_g over ln λ in [ln lower, ln upper] (default [1e−4, 10], §5).
    public func optimalRidge(samples P: Double, lower: Double = 1e-4, upper: Double = 10) throws -> OptimalRidge {
        try Validate.positive("lambda_min", lower)
        guard upper > lower else {
            throw SolvableError.invalidParameter(name: "lambda_max", value: "\(upper)", allowed: "> lambda_min")
        }
        var failure: Error?
        let m = brentMinimize(in: (log(lower), log(upper)), xTolerance: 1e-8) { t in
            do { return try evaluate(samples: P, ridge: exp(t)).generalizationError } catch { failure = error; return .infinity }
        }
        if let f = failure { throw f }
        let lam = exp(m.value.x)
        let pt = try evaluate(samples: P, ridge: lam)
        return OptimalRidge(ridge: lam, point: pt, record: m.record)
    }

    // MARK: - ridgeless (§4.4)

    func ridgeless(_ P: Double) -> TheoryPoint {
        let clock = Stopwatch()
        let nmin = minimalRank
        let eta2 = noiseVariance
        let d = min(P, nmin)
        var states = [first.spectrum.state(at: d, maxIterations: maxIterations)]
        for s in later { states.append(s.state(at: d, maxIterations: maxIterations)) }
        let (b1, b2) = first.biases(kappa: states[0].kappa)
        let chi = states.map(\.chi)
        let ok = states.allSatisfy(\.converged)
        let its = states.map(\.iterations).reduce(0, +)
        var eg: Double, train: Double
        if P < nmin {
            // over-parameterised: ε_g = (1 + χ_1) b2 + R b1 + η² (χ_1 + R), R = Σ_{ℓ≥2} χ_ℓ; E_train = 0
            let R = chi.dropFirst().reduce(0, +)
            eg = (1 + chi[0]) * b2 + R * b1 + eta2 * (chi[0] + R)
            train = 0
        } else {
            // under-parameterised: b1* from the bottleneck (hidden width: κ* at d = n_min; input: unreachable part)
            let b1star = nmin < first.spectrum.rank ? b1 : first.unreachableSignal
            if P == nmin {
                eg = b1star + eta2 > 0 ? .infinity : 0
                train = 0
            } else {
                eg = b1star * P / (P - nmin) + eta2 * nmin / (P - nmin)
                train = (b1star + eta2) * (1 - nmin / P)
            }
        }
        let Lambda = 1 + chi.reduce(0, +)
        // closed form: residual 0 when every inner solve converged; none recorded (final residual +∞) otherwise
        let rec = ConvergenceRecord(status: ok ? .converged : .maxIterations, iterations: its, residualHistory: ok ? [0] : [],
                                    tolerance: 1e-14, elapsedSeconds: clock.elapsed,
                                    message: innerFailure(states).map { "ridgeless closed form at P = \(P): " + $0 })
        return TheoryPoint(samples: P, ridge: 0, degreesOfFreedom: d, kappa: states.map(\.kappa), chi: chi,
                           Lambda: Lambda, b1: b1, b2: b2, generalizationError: eg, testError: eg + eta2,
                           trainingError: train, record: rec)
    }

    // MARK: - ridge λ > 0 (§4.2, §5)

    /// g(d) = ln κ_1(d) + log1p(−d/P) + Σ_ℓ [log1p(−d/n_ℓ) + ln π_{ℓ+1}(d)] − ln λ, strictly decreasing.
    func ridge(_ P: Double, _ lambda: Double) -> TheoryPoint {
        let clock = Stopwatch()
        let dmax = min(P, minimalRank)
        let logLambda = log(lambda)
        var guesses = [Double?](repeating: nil, count: later.count + 1)
        var innerIterations = 0
        var innerOK = true
        var innerMessage: String? = nil
        let budget = maxIterations
        func solveStates(_ d: Double) -> [Spectrum.State] {
            var st: [Spectrum.State] = []
            st.reserveCapacity(later.count + 1)
            st.append(first.spectrum.state(at: d, guess: guesses[0], maxIterations: budget))
            for (k, s) in later.enumerated() { st.append(s.state(at: d, guess: guesses[k + 1], maxIterations: budget)) }
            for k in 0..<st.count {
                if st[k].kappa > 0 && st[k].kappa.isFinite { guesses[k] = st[k].kappa }
                innerIterations += st[k].iterations
                innerOK = innerOK && st[k].converged
            }
            if innerMessage == nil, let m = innerFailure(st) { innerMessage = m + " (at d = \(d))" }
            return st
        }
        func g(_ d: Double) -> Double {
            let st = solveStates(d)
            var v = st[0].logKappa + (P.isFinite ? log1p(-d / P) : 0) - logLambda
            for (k, s) in later.enumerated() {
                v += (s.size.isFinite ? log1p(-d / s.size) : 0) + st[k + 1].logPi
            }
            return v
        }
        var lo = 1e-10 * dmax
        var boundaryNote: String? = nil
        var boundaryD = 0.0
        while g(lo) < 0 {
            if lo < 1e-290 { boundaryNote = "λ above resolution: d below 1e-290"; boundaryD = lo; break }
            lo *= 1e-10
        }
        var hi = dmax * (1 - 1e-13)
        if boundaryNote == nil && g(hi) > 0 {
            hi = dmax * (1 - 4 * Double.ulpOfOne)
            if g(hi) > 0 { boundaryNote = "λ below resolution: d within 1e-15 of d_max"; boundaryD = hi }
        }
        var d: Double
        var outer: ConvergenceRecord
        if let note = boundaryNote {
            d = boundaryD
            outer = ConvergenceRecord(status: .converged, iterations: 0, residualHistory: [0], tolerance: 1e-14 * dmax,
                                      elapsedSeconds: 0, message: note)
        } else {
            // Safeguarded Newton in u = ln d with dg/du = −Λ − d/(P − d) (§4.2), bisection (geometric while the
            // bracket spans decades) whenever a step leaves the bracket; Brent as the fallback.
            let clockOuter = Stopwatch()
            var history: [Double] = []
            var x = min(max(0.5 * dmax, lo), hi)
            var done = false
            var its = 0
            while its < budget {
                its += 1
                let st = solveStates(x)
                var gv = st[0].logKappa + (P.isFinite ? log1p(-x / P) : 0) - logLambda
                for (k, s) in later.enumerated() { gv += (s.size.isFinite ? log1p(-x / s.size) : 0) + st[k + 1].logPi }
                history.append(abs(gv))
                if gv == 0 { done = true; break }
                if gv > 0 { lo = x } else { hi = x }
                let Lambda = 1 + st.reduce(0) { $0 + $1.chi }
                let slopeU = -Lambda - (P.isFinite ? x / (P - x) : 0)      // dg/d ln d
                var next: Double
                if x <= 0.5 * dmax {
                    next = x * exp(-gv / slopeU)                           // Newton in ln d (g ≈ −ln d as d → 0)
                } else {
                    let r = dmax - x                                       // Newton in ln(d_max − d) (g ≈ m ln(d_max − d))
                    next = dmax - r * exp(gv * x / (slopeU * r))
                }
                let inside = next > lo && next < hi && next.isFinite
                if abs(gv) < 1e-9 {
                    // quadratic convergence: the error after this step is O(g²); keep x if rounding pushed it out
                    if inside { x = next }
                    done = true; break
                }
                if !inside { next = hi / lo > 4 ? (lo * hi).squareRoot() : 0.5 * (lo + hi) }
                if abs(next - x) <= 1e-15 * x || hi - lo <= 4 * Double.ulpOfOne * hi {
                    history.append(abs(next - x) / x)   // converged by the step: the residual is the last relative step
                    x = next; done = true; break
                }
                x = next
            }
            if done {
                d = x
                // residual: |g(d)| of the master equation (Newton from |g| < 1e-9 leaves an error O(g²)), or the
                // last relative step when the iteration stopped moving
                outer = ConvergenceRecord(status: .converged, iterations: its, residualHistory: history, tolerance: 1e-9,
                                          elapsedSeconds: clockOuter.elapsed)
            } else {
                let sol = brentRoot(in: (lo, hi), xTolerance: 1e-14 * dmax, maxIterations: budget, g)
                d = sol.value
                outer = sol.record
                outer.iterations += its
                outer.residualHistory = history + outer.residualHistory
                if !outer.status.isConverged {
                    outer.message = "master equation for d (outer solve) at P = \(P), λ = \(lambda): no root to tolerance within \(budget) safeguarded Newton + \(budget) Brent iterations" + (outer.message.map { "; " + $0 } ?? "")
                }
                if !d.isFinite { d = 0.5 * (lo + hi) }
            }
        }
        let st = solveStates(d)
        let chi = st.map(\.chi)
        let sumChi = chi.reduce(0, +)
        let Lambda = 1 + sumChi
        let (b1, b2) = first.biases(kappa: st[0].kappa)
        let gamma = (1 + chi[0]) / Lambda
        let B = gamma * b2 + (1 - gamma) * b1
        let eta2 = noiseVariance
        let frac = P.isFinite ? d / P : 0
        let shrink = frac * (sumChi / Lambda)           // (d/P)(1 − 1/Λ)
        let den = 1 - shrink
        let test = (B + eta2) / den
        let eg = (B + eta2 * shrink) / den              // E_test − η² without cancellation
        let train = (1 - frac) * (1 - frac) * test
        var status = outer.status
        if !innerOK && status == .converged { status = .maxIterations }
        let rec = ConvergenceRecord(status: status, iterations: outer.iterations + innerIterations,
                                    residualHistory: outer.residualHistory, tolerance: outer.tolerance,
                                    elapsedSeconds: clock.elapsed,
                                    message: innerOK ? outer.message : [outer.message, innerMessage.map { "P = \(P), λ = \(lambda): " + $0 }].compactMap { $0 }.joined(separator: "; "))
        return TheoryPoint(samples: P, ridge: lambda, degreesOfFreedom: d, kappa: st.map(\.kappa), chi: chi,
                           Lambda: Lambda, b1: b1, b2: b2, generalizationError: eg, testError: test,
                           trainingError: train, record: rec)
    }
}
