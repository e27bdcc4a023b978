import Foundation

/// Special functions of the Gaussian, binomial and chi-squared laws, used by the statistics in `Statistics` and by
/// the models' theories (one implementation each; libm's `lgamma` and `erfc` underneath).
public enum SpecialFunctions {
    /// Standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2.
    public static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// The Gaussian upper tail H(x) = P(Z > x) = erfc(x / sqrt 2) / 2.
    public static func normalUpperTail(_ x: Double) -> Double { 0.5 * erfc(x / 2.0.squareRoot()) }

    /// Standard normal density.
    public static func normalDensity(_ x: Double) -> Double { exp(-x * x / 2) / (2 * Double.pi).squareRoot() }

    /// ln C(n, k).
    public static func logBinomial(_ n: Int, _ k: Int) -> Double {
        lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1))
    }

    /// P(X <= k) for X ~ Bin(n, q), summed in log space.
    public static func binomialCDF(_ k: Int, _ n: Int, _ q: Double) -> Double {
        if k < 0 { return 0 }
        if k >= n { return 1 }
        if q <= 0 { return 1 }
        if q >= 1 { return 0 }
        var s = 0.0
        let lq = log(q), l1 = log1p(-q)
        for j in 0...k { s += exp(logBinomial(n, j) + Double(j) * lq + Double(n - j) * l1) }
        return min(1, s)
    }

    /// The regularized lower incomplete gamma function P(a, x), by its series for x < a + 1 and the continued
    /// fraction of Q = 1 - P otherwise (Numerical Recipes, 3rd ed., section 6.2).
    public static func regularizedGammaP(_ a: Double, _ x: Double) -> Double {
        if x <= 0 { return 0 }
        let lg: Double = lgamma(a)
        if x < a + 1 {
            var sum = 1 / a, del = sum, ap = a
            for _ in 0..<10_000 { ap += 1; del *= x / ap; sum += del; if abs(del) < abs(sum) * 1e-15 { break } }
            return sum * exp(-x + a * log(x) - lg)
        }
        var b = x + 1 - a, c = 1 / 1e-300, d = 1 / b, h = d
        for i in 1..<10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b; if abs(d) < 1e-300 { d = 1e-300 }
            c = b + an / c; if abs(c) < 1e-300 { c = 1e-300 }
            d = 1 / d
            let del = d * c
            h *= del
            if abs(del - 1) < 1e-15 { break }
        }
        return 1 - exp(-x + a * log(x) - lg) * h
    }
}
