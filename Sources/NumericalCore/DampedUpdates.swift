import LinearAlgebra

// Small pieces every damped kernel iteration uses (the deep linear and the Monte Carlo DMFT).

/// NaN-propagating maximum: a non-finite residual must never look converged.
@inline(__always) public func nanMax(_ a: Double, _ b: Double) -> Double { (a.isNaN || b.isNaN) ? .nan : max(a, b) }

/// |X_new - X_old|_F / |X_new|_F from the two squared norms (the absolute change when X_new = 0).
@inline(__always) public func relativeChange(diff2: Double, norm2: Double) -> Double {
    norm2 > 0 ? (diff2 / norm2).squareRoot() : diff2.squareRoot()
}

extension Matrix {
    /// True when every entry is finite (a sum over the entries, which is non-finite otherwise or on overflow).
    public var allFinite: Bool {
        storage.withUnsafeBufferPointer { p in
            var acc = 0.0
            for v in p { acc += v * 0 }
            return acc == 0
        }
    }

    /// The damped update X <- alpha X_new + (1 - alpha) X; returns |X_damped - X_old|_F / |X_damped|_F.
    public mutating func damp(toward new: Matrix, weight alpha: Double) -> Double {
        var diff = 0.0, norm = 0.0
        for i in 0..<storage.count {
            let v = alpha * new.storage[i] + (1 - alpha) * storage[i]
            let d = v - storage[i]
            diff += d * d; norm += v * v
            storage[i] = v
        }
        return relativeChange(diff2: diff, norm2: norm)
    }
}
