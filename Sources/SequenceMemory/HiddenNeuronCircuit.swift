import Foundation
import NumericalCore

/// The two-layer circuit with one hidden neuron per memory (docs/theory/sequence-memory.md §2.4, after Krotov & Hopfield):
/// visible -> hidden W_{j mu} = xi_j^mu / N, hidden -> visible M_{mu j} = xi_j^{mu+1} (DenseNet) or
/// xi_j^mu + lambda xi_j^{mu+1} (tau = 1 MixedNet with f_S = f_A), and
/// h_mu(t) = f(sum_j W_{j mu} v_j(t)),  v_j(t+1) = sgn sum_mu M_{mu j} h_mu(t)   (a tie keeps v_j).
/// The hidden input is the self-inclusive overlap, so the circuit equals the self-inclusive DenseNet; with
/// `selfCorrected` output neuron i drops its own synapse (r_mu - xi_i^mu v_i over K = N-1 neurons) and equals the
/// self-excluded DenseNet. The exponential uses the raw-unit form e^{r-K}. Synapses are stored as the integers
/// xi_j^mu with the gain 1/K applied to the summed input (the same number as W v, without rounding); ties in the
/// visible sum are decided exactly (integer or Hamming-count sums), as in `SequenceNetwork`.
public struct HiddenNeuronCircuit: Sendable {
    public let patterns: PatternSet
    public let separation: Separation
    public let lambda: Double?
    public let selfCorrected: Bool
    public let boundary: Boundary
    /// M (P x N, row-major), hidden -> visible weights.
    public let hiddenToVisible: [Double]

    public init(patterns: PatternSet, separation: Separation, lambda: Double? = nil, selfCorrected: Bool = false,
                boundary: Boundary = .periodic) throws {
        if let l = lambda { try Validate.positive("lambda", l) }
        self.patterns = patterns; self.separation = separation; self.lambda = lambda
        self.selfCorrected = selfCorrected; self.boundary = boundary
        let n = patterns.neurons, p = patterns.count
        var m = [Double](repeating: 0, count: p * n)
        for mu in 0..<p {
            let nxt: Int? = mu + 1 < p ? mu + 1 : (boundary == .periodic ? 0 : nil)
            for j in 0..<n {
                var w = 0.0
                if let t = nxt { w += (lambda ?? 1) * Double(patterns.values[t * n + j]) }
                if lambda != nil { w += Double(patterns.values[mu * n + j]) }
                m[mu * n + j] = w
            }
        }
        hiddenToVisible = m
    }

    /// Visible -> hidden W (N x P, row-major): xi_j^mu / N.
    public var visibleToHidden: [Double] {
        let n = patterns.neurons, p = patterns.count
        var w = [Double](repeating: 0, count: n * p)
        for mu in 0..<p { for j in 0..<n { w[j * p + mu] = Double(patterns.values[mu * n + j]) / Double(n) } }
        return w
    }

    func f(_ r: Int, _ k: Int) -> Double {
        switch separation {
        case .exponential: return exp(Double(r - k))
        default: return separation.value(Double(r) / Double(k), neurons: patterns.neurons)
        }
    }

    /// Hidden activities h_mu = f(W^T v) (self-inclusive input).
    public func hidden(_ v: [Int8]) -> [Double] {
        patterns.dots(packedState: PatternSet.pack(v)).map { f($0, patterns.neurons) }
    }

    /// One update of the visible layer through the hidden layer.
    public func step(_ v: [Int8]) -> [Int8] {
        let n = patterns.neurons, p = patterns.count
        let r = patterns.dots(packedState: PatternSet.pack(v))
        let xv = patterns.values
        var out = v
        let hid = r.map { f($0, n) }
        for j in 0..<n {
            var h = 0.0, sc = 0.0
            for mu in 0..<p {
                let a: Double
                if selfCorrected { a = f(r[mu] - Int(xv[mu * n + j] * v[j]), n - 1) } else { a = hid[mu] }
                h += hiddenToVisible[mu * n + j] * a
                sc += abs(hiddenToVisible[mu * n + j] * a)
            }
            var sg = h > 0 ? 1 : h < 0 ? -1 : 0
            if abs(h) <= 1e-9 * sc { sg = exactSign(j, v, r) }
            if sg != 0 { out[j] = Int8(sg) }
        }
        return out
    }

    /// Exact sign: sums split into the symmetric part A and the successor part B, h = A + lambda B, with A and B
    /// exact integers (polynomial) or integer counts per Hamming distance (exponential).
    func exactSign(_ j: Int, _ v: [Int8], _ r: [Int]) -> Int {
        let n = patterns.neurons, p = patterns.count
        let xv = patterns.values
        let k = selfCorrected ? n - 1 : n
        func input(_ mu: Int) -> Int { selfCorrected ? r[mu] - Int(xv[mu * n + j] * v[j]) : r[mu] }
        func succ(_ mu: Int) -> Int? { mu + 1 < p ? mu + 1 : (boundary == .periodic ? 0 : nil) }
        let lam = lambda ?? 1
        switch separation {
        case .polynomial(let d):
            var a: Int64 = 0, b: Int64 = 0, ok = true
            for mu in 0..<p {
                var pw: Int64 = 1
                for _ in 0..<d { let (x, o) = pw.multipliedReportingOverflow(by: Int64(input(mu))); if o { ok = false }; pw = x }
                if let t = succ(mu) { b += xv[t * n + j] > 0 ? pw : -pw }
                if lambda != nil { a += xv[mu * n + j] > 0 ? pw : -pw }
            }
            if ok { let h = Double(a) + lam * Double(b); return h > 0 ? 1 : h < 0 ? -1 : 0 }
        case .exponential:
            var ca = [Int](repeating: 0, count: k + 2), cb = [Int](repeating: 0, count: k + 2)
            for mu in 0..<p {
                let dist = (k - input(mu)) / 2
                if let t = succ(mu) { cb[dist] += Int(xv[t * n + j]) }
                if lambda != nil { ca[dist] += Int(xv[mu * n + j]) }
            }
            var h = 0.0, allZero = true
            for dd in stride(from: k + 1, through: 0, by: -1) {
                let c = Double(ca[dd]) + lam * Double(cb[dd])
                if c != 0 { allZero = false; h += c * exp(-2 * Double(dd)) }
            }
            if allZero { return 0 }
            return h > 0 ? 1 : h < 0 ? -1 : 0
        case .custom: break
        }
        var h = 0.0
        for mu in 0..<p { h += hiddenToVisible[mu * n + j] * f(input(mu), k) }
        return h > 0 ? 1 : h < 0 ? -1 : 0
    }

    public func trajectory(from start: [Int8], steps: Int) -> [[Int8]] {
        var out = [start]
        for _ in 0..<steps { out.append(step(out[out.count - 1])) }
        return out
    }
}
