import Foundation

/// Sample statistics with the standard errors used by every theory-vs-simulation comparison.
public enum Statistics {
    public static func mean(_ x: [Double]) -> Double { x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count) }

    /// Unbiased sample variance (n - 1 denominator).
    public static func variance(_ x: [Double]) -> Double {
        guard x.count > 1 else { return .nan }
        let m = mean(x)
        return x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)
    }

    /// Standard error of the mean, sqrt(var / n).
    public static func standardError(_ x: [Double]) -> Double { (variance(x) / Double(x.count)).squareRoot() }

    /// Standard error of the unbiased variance estimate: for Gaussian-like data var * sqrt(2 / (n - 1));
    /// in general sqrt((m4 - (n-3)/(n-1) s^4) / n) with m4 the fourth central moment.
    public static func varianceStandardError(_ x: [Double]) -> Double {
        let n = Double(x.count)
        guard n > 3 else { return .nan }
        let m = mean(x)
        let s2 = variance(x)
        let m4 = x.reduce(0) { $0 + pow($1 - m, 4) } / n
        return max(0, (m4 - (n - 3) / (n - 1) * s2 * s2) / n).squareRoot()
    }

    /// z = (observed - expected) / standardError (infinite when the error is zero and values differ).
    public static func zScore(observed: Double, expected: Double, standardError: Double) -> Double {
        let d = observed - expected
        if standardError > 0 { return d / standardError }
        return d == 0 ? 0 : (d > 0 ? .infinity : -.infinity)
    }

    /// Wilson score interval for a binomial proportion with `successes` of `trials` at normal quantile `z`
    /// (z = 1.96 for 95%).
    public static func wilsonInterval(successes: Int, trials: Int, z: Double = 1.959963984540054) -> (lower: Double, upper: Double) {
        guard trials > 0 else { return (0, 1) }
        let n = Double(trials), p = Double(successes) / n
        let denom = 1 + z * z / n
        let centre = (p + z * z / (2 * n)) / denom
        let half = z * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot() / denom
        return (max(0, centre - half), min(1, centre + half))
    }

    /// Clopper-Pearson (exact) two-sided interval for a binomial proportion with `successes` of `trials` at level
    /// `confidence` (Clopper & Pearson 1934), by bisection on the binomial CDF.
    public static func clopperPearson(successes k: Int, trials n: Int, confidence: Double = 0.95) -> (lower: Double, upper: Double) {
        let a = (1 - confidence) / 2
        let lower = k == 0 ? 0 : bisect({ q in (1 - SpecialFunctions.binomialCDF(k - 1, n, q)) - a }, in: (0, 1), maxIterations: 60)
        let upper = k == n ? 1 : bisect({ q in a - SpecialFunctions.binomialCDF(k, n, q) }, in: (0, 1), maxIterations: 60)
        return (lower, upper)
    }

    /// The two-sided normal quantile z with P(|Z| > z) = p.
    public static func normalTwoSidedQuantile(_ p: Double) -> Double {
        bisect({ z in p - erfc(z / 2.0.squareRoot()) }, in: (0, 40))
    }

    /// The two-sided Student-t quantile q with P(|t_nu| > q) = p, by the Cornish-Fisher expansion of Abramowitz &
    /// Stegun 26.7.5 (accurate to a few 0.1 % for nu >= 7 at the tail levels of the agreement checks).
    public static func studentTwoSidedQuantile(_ p: Double, dof nu: Double) -> Double {
        let z = normalTwoSidedQuantile(p)
        let z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z, z9 = z7 * z * z
        let g1 = (z3 + z) / 4
        let g2 = (5 * z5 + 16 * z3 + 3 * z) / 96
        let g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384
        let g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160
        return z + g1 / nu + g2 / (nu * nu) + g3 / (nu * nu * nu) + g4 / (nu * nu * nu * nu)
    }

    /// The Bonferroni tolerance on |z| for `comparisons` comparisons of means over `trials` trials each: the
    /// two-sided Student-t (nu = trials - 1) quantile at family-wise false-alarm probability `familyWise`.
    public static func bonferroniTolerance(comparisons: Int, trials: Int, familyWise: Double = 0.01) -> Double {
        studentTwoSidedQuantile(familyWise / Double(max(1, comparisons)), dof: Double(max(2, trials - 1)))
    }

    /// The quantile of chi^2 with `dof` degrees of freedom, by bisection on the regularized incomplete gamma.
    public static func chiSquareQuantile(_ p: Double, dof k: Double) -> Double {
        bisect({ x in SpecialFunctions.regularizedGammaP(k / 2, x / 2) - p }, in: (0, k + 20 * (2 * k).squareRoot() + 50),
               relativeTolerance: 1e-12)
    }

    /// Ordinary least-squares fit y = intercept + slope x, with the slope's standard error.
    public static func linearFit(x: [Double], y: [Double]) -> (slope: Double, intercept: Double, slopeError: Double) {
        let n = Double(x.count)
        guard x.count == y.count, x.count >= 2 else { return (.nan, .nan, .nan) }
        let mx = mean(x), my = mean(y)
        var sxx = 0.0, sxy = 0.0
        for i in 0..<x.count { sxx += (x[i] - mx) * (x[i] - mx); sxy += (x[i] - mx) * (y[i] - my) }
        let slope = sxy / sxx
        let intercept = my - slope * mx
        var rss = 0.0
        for i in 0..<x.count { let r = y[i] - intercept - slope * x[i]; rss += r * r }
        let se = x.count > 2 ? (rss / (n - 2) / sxx).squareRoot() : .nan
        return (slope, intercept, se)
    }

    /// Log-log slope: fit of log y on log x (the scaling exponent of y ~ x^slope).
    public static func logLogSlope(x: [Double], y: [Double]) -> (slope: Double, intercept: Double, slopeError: Double) {
        linearFit(x: x.map { log($0) }, y: y.map { log($0) })
    }

    /// Cosine similarity of two flattened arrays (kernel alignment).
    public static func alignment(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        var ab = 0.0, aa = 0.0, bb = 0.0
        for i in 0..<a.count { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i] }
        return ab / (aa * bb).squareRoot()
    }
}

/// Running mean and variance (Welford), for accumulating over trials without storing them.
public struct RunningMoments: Sendable {
    public private(set) var count = 0
    public private(set) var mean = 0.0
    private var m2 = 0.0
    public init() {}
    public mutating func add(_ x: Double) {
        count += 1
        let d = x - mean
        mean += d / Double(count)
        m2 += d * (x - mean)
    }
    public var variance: Double { count > 1 ? m2 / Double(count - 1) : .nan }
    public var standardError: Double { (variance / Double(count)).squareRoot() }
}
