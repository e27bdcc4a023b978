/// Seeded random streams.
///
/// Every random draw in Solvable comes from a `RandomStream` derived from `(seed, point, sample)` by a mixing
/// function, so the numbers a sample sees do not depend on thread count, scheduling or sharding.
/// The generator is xoshiro256** (Blackman & Vigna 2018) seeded through SplitMix64.

/// SplitMix64 (Steele, Lea & Flood 2014): the mixing step used to seed and to derive streams.
@inlinable public func splitMix64(_ state: inout UInt64) -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// A 64-bit hash of a list of words (each mixed in with SplitMix64); stable across platforms and releases.
public func mixWords(_ words: [UInt64]) -> UInt64 {
    var h: UInt64 = 0x6A09_E667_F3BC_C908
    for w in words {
        var s = h ^ w
        h = splitMix64(&s)
    }
    return h
}

/// FNV-1a hash of a string, for deriving stream ids from names (point IDs, figure names).
public func stableHash(_ s: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return h
}

/// xoshiro256** generator with Gaussian and Rademacher draws.
public struct RandomStream: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    @usableFromInline var spareGaussian: Double? = nil

    /// A stream seeded from a single 64-bit value.
    public init(seed: UInt64) {
        var sm = seed
        s0 = splitMix64(&sm); s1 = splitMix64(&sm); s2 = splitMix64(&sm); s3 = splitMix64(&sm)
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    /// The stream for `(seed, point, sample)`: the same triple always gives the same numbers.
    /// `point` indexes a parameter point (e.g. a sample count P or a sweep point), `sample` a trial within it.
    public init(seed: UInt64, point: UInt64 = 0, sample: UInt64 = 0) {
        self.init(seed: mixWords([seed, point, sample]))
    }

    /// A stream for a named purpose within (seed, point, sample), e.g. "teacher" vs "data".
    public init(seed: UInt64, point: UInt64 = 0, sample: UInt64 = 0, purpose: String) {
        self.init(seed: mixWords([seed, point, sample, stableHash(purpose)]))
    }

    @inlinable static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    @inlinable public mutating func next() -> UInt64 {
        let result = RandomStream.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = RandomStream.rotl(s3, 45)
        return result
    }

    /// Uniform on [0, 1) with 53 random bits.
    @inlinable public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform on (0, 1): never exactly 0 (safe for logarithms).
    @inlinable public mutating func uniformOpen() -> Double { (Double(next() >> 11) + 0.5) * 0x1.0p-53 }

    /// A standard normal draw (Marsaglia polar method; the second value of each pair is kept).
    @inlinable public mutating func gaussian() -> Double {
        if let g = spareGaussian { spareGaussian = nil; return g }
        while true {
            let u = 2 * uniform() - 1
            let v = 2 * uniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                let f = (-2 * _log(s) / s).squareRoot()
                spareGaussian = v * f
                return u * f
            }
        }
    }

    /// +1 or -1 with equal probability.
    @inlinable public mutating func rademacher() -> Double { (next() >> 63) == 0 ? 1 : -1 }

    /// `count` standard normal draws.
    public mutating func gaussians(_ count: Int) -> [Double] {
        var out = [Double](repeating: 0, count: count)
        for i in 0..<count { out[i] = gaussian() }
        return out
    }

    /// Fills `buffer` with standard normal draws scaled by `scale`.
    public mutating func fillGaussian(_ buffer: UnsafeMutableBufferPointer<Double>, scale: Double = 1) {
        for i in buffer.indices { buffer[i] = scale * gaussian() }
    }

    /// `count` Rademacher (+-1) draws.
    public mutating func rademachers(_ count: Int) -> [Double] {
        var out = [Double](repeating: 0, count: count)
        for i in 0..<count { out[i] = rademacher() }
        return out
    }

    /// A uniform integer in 0..<n.
    public mutating func index(below n: Int) -> Int { Int.random(in: 0..<n, using: &self) }
}

#if canImport(Glibc)
import Glibc
@usableFromInline func _log(_ x: Double) -> Double { Glibc.log(x) }
#else
import Foundation
@usableFromInline func _log(_ x: Double) -> Double { Foundation.log(x) }
#endif
