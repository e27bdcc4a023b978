import Foundation

/// Brent's method (Brent 1973, ch. 4) for a root of a continuous f on a bracket [a, b] with f(a) f(b) <= 0:
/// inverse quadratic interpolation and secant steps safeguarded by bisection. Converges when the bracket
/// is narrower than `2 (4 eps |x| + xTolerance)` or f is exactly zero.
public func brentRoot(in bracket: (Double, Double), xTolerance: Double = 1e-14, maxIterations: Int = 200,
                      _ f: (Double) -> Double) -> Solution<Double> {
    let clock = Stopwatch()
    var a = bracket.0, b = bracket.1
    var fa = f(a), fb = f(b)
    // the residual is the bracket's half-width, held to the tolerance Brent's test uses (2 ulp |b| + xTolerance/2),
    // so the record's status follows from its own numbers
    var history: [Double] = []
    var tolerance = 0.5 * xTolerance
    func record(_ status: SolverStatus, _ x: Double, _ it: Int, _ msg: String? = nil) -> Solution<Double> {
        Solution(value: x, record: ConvergenceRecord(status: status, iterations: it, residualHistory: history,
                                                     tolerance: tolerance, elapsedSeconds: clock.elapsed, message: msg))
    }
    guard fa.isFinite, fb.isFinite else {
        return record(.failed, .nan, 0, "f is not finite at the bracket ends (f(\(a)) = \(fa), f(\(b)) = \(fb))")
    }
    if fa == 0 { history.append(0); return record(.converged, a, 0) }
    if fb == 0 { history.append(0); return record(.converged, b, 0) }
    guard (fa > 0) != (fb > 0) else {
        return record(.failed, .nan, 0, "[\(a), \(b)] does not bracket a root (f = \(fa), \(fb))")
    }
    var c = a, fc = fa
    var d = b - a, e = d
    for it in 1...maxIterations {
        if (fb > 0) == (fc > 0) { c = a; fc = fa; d = b - a; e = d }
        if abs(fc) < abs(fb) { a = b; b = c; c = a; fa = fb; fb = fc; fc = fa }
        let tol = 2 * Double.ulpOfOne * abs(b) + 0.5 * xTolerance
        let m = 0.5 * (c - b)
        tolerance = tol
        history.append(fb == 0 ? 0 : abs(m))
        if abs(m) <= tol || fb == 0 { return record(.converged, b, it) }
        if abs(e) >= tol && abs(fa) > abs(fb) {
            let s = fb / fa
            var p: Double, q: Double
            if a == c {
                p = 2 * m * s; q = 1 - s
            } else {
                let qq = fa / fc, r = fb / fc
                p = s * (2 * m * qq * (qq - r) - (b - a) * (r - 1))
                q = (qq - 1) * (r - 1) * (s - 1)
            }
            if p > 0 { q = -q } else { p = -p }
            if 2 * p < min(3 * m * q - abs(tol * q), abs(e * q)) { e = d; d = p / q } else { d = m; e = m }
        } else { d = m; e = m }
        a = b; fa = fb
        b += abs(d) > tol ? d : (m > 0 ? tol : -tol)
        fb = f(b)
        if !fb.isFinite { return record(.failed, .nan, it, "f became non-finite at x = \(b)") }
    }
    return record(.maxIterations, b, maxIterations, "bracket still wider than tolerance after \(maxIterations) iterations")
}

/// Finds a bracket [lo, hi] (lo, hi > 0) of a sign change of f by geometric expansion around `start`
/// (log-space bracketing), for roots on (0, inf) spanning many decades. Returns nil if none is found
/// within [minimum, maximum].
public func logBracket(start: Double, minimum: Double = 1e-300, maximum: Double = 1e300, factor: Double = 10,
                       _ f: (Double) -> Double) -> (Double, Double)? {
    var lo = start, hi = start
    var flo = f(lo), fhi = flo
    if flo == 0 { return (lo, lo) }
    while true {
        let nlo = max(minimum, lo / factor), nhi = min(maximum, hi * factor)
        if nlo == lo && nhi == hi { return nil }
        if nlo < lo {
            let v = f(nlo)
            if v.isFinite && (v > 0) != (flo > 0) { return (nlo, lo) }
            lo = nlo; flo = v
        }
        if nhi > hi {
            let v = f(nhi)
            if v.isFinite && (v > 0) != (fhi > 0) { return (hi, nhi) }
            hi = nhi; fhi = v
        }
    }
}

/// Brent's minimiser (golden section with parabolic interpolation) of a unimodal f on [a, b].
public func brentMinimize(in interval: (Double, Double), xTolerance: Double = 1e-10, maxIterations: Int = 200,
                          _ f: (Double) -> Double) -> Solution<(x: Double, fx: Double)> {
    let clock = Stopwatch()
    let golden = 0.3819660112501051
    var a = min(interval.0, interval.1), b = max(interval.0, interval.1)
    var x = a + golden * (b - a), w = x, v = x
    var fx = f(x), fw = fx, fv = fx
    var d = 0.0, e = 0.0
    // residual: the width b - a of the interval holding the minimum; Brent's test |x - m| <= 2 tol - (b - a)/2
    // implies b - a <= 4 tol, the tolerance recorded (tol = xTolerance |x| + 1e-12 at the end)
    var history: [Double] = []
    var widthTolerance = 4 * (xTolerance * abs(x) + 1e-12)
    for it in 1...maxIterations {
        let m = 0.5 * (a + b)
        let tol = xTolerance * abs(x) + 1e-12
        widthTolerance = 4 * tol
        history.append(b - a)
        if abs(x - m) <= 2 * tol - 0.5 * (b - a) {
            return Solution(value: (x, fx), record: ConvergenceRecord(status: .converged, iterations: it, residualHistory: history,
                                                                     tolerance: widthTolerance, elapsedSeconds: clock.elapsed))
        }
        var useGolden = true
        if abs(e) > tol {
            let r = (x - w) * (fx - fv)
            var q = (x - v) * (fx - fw)
            var p = (x - v) * q - (x - w) * r
            q = 2 * (q - r)
            if q > 0 { p = -p } else { q = -q }
            if abs(p) < abs(0.5 * q * e) && p > q * (a - x) && p < q * (b - x) {
                e = d; d = p / q; useGolden = false
                let u = x + d
                if u - a < 2 * tol || b - u < 2 * tol { d = x < m ? tol : -tol }
            }
        }
        if useGolden { e = (x < m ? b : a) - x; d = golden * e }
        let u = abs(d) >= tol ? x + d : x + (d > 0 ? tol : -tol)
        let fu = f(u)
        if fu <= fx {
            if u < x { b = x } else { a = x }
            v = w; fv = fw; w = x; fw = fx; x = u; fx = fu
        } else {
            if u < x { a = u } else { b = u }
            if fu <= fw || w == x { v = w; fv = fw; w = u; fw = fu } else if fu <= fv || v == x || v == w { v = u; fv = fu }
        }
    }
    return Solution(value: (x, fx), record: ConvergenceRecord(status: .maxIterations, iterations: maxIterations,
                                                             residualHistory: history, tolerance: widthTolerance,
                                                             elapsedSeconds: clock.elapsed))
}

/// Bisection for the root of an increasing function g on a bracket [lo, hi] with g(lo) < 0 <= g(hi): the bracket
/// is halved at its arithmetic midpoint (or, with `geometric`, at sqrt(lo hi) for positive brackets spanning
/// decades) until it is narrower than `relativeTolerance` (relative to max(1, |midpoint|), or as the ratio
/// hi/lo - 1 when geometric) or `maxIterations` halvings are done. Returns the final midpoint.
public func bisect(_ g: (Double) -> Double, in bracket: (Double, Double), geometric: Bool = false,
                   relativeTolerance: Double = 0, maxIterations: Int = 200) -> Double {
    var (lo, hi) = bracket
    func mid() -> Double { geometric ? (lo * hi).squareRoot() : 0.5 * (lo + hi) }
    for _ in 0..<maxIterations {
        let m = mid()
        if g(m) < 0 { lo = m } else { hi = m }
        let width = geometric ? hi / lo - 1 : (hi - lo) / max(1, abs(m))
        if width < relativeTolerance { break }
    }
    return mid()
}
