import Foundation

/// A dense, column-major matrix of `Double`: element (i, j) is stored at `storage[i + j * rows]`,
/// exactly the layout BLAS and LAPACK expect with `lda = rows`.
///
/// `Matrix` is a value type (copy-on-write through its array storage). Vectors are plain `[Double]`.
public struct Matrix: Equatable, Sendable, CustomStringConvertible {
    public let rows: Int
    public let cols: Int
    /// Column-major elements, `rows * cols` of them.
    public var storage: [Double]

    /// A `rows x cols` matrix filled with `value`.
    public init(rows: Int, cols: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && cols >= 0, "Matrix dimensions must be non-negative")
        self.rows = rows
        self.cols = cols
        self.storage = [Double](repeating: value, count: rows * cols)
    }

    /// A matrix over existing column-major storage.
    public init(rows: Int, cols: Int, columnMajor storage: [Double]) {
        precondition(storage.count == rows * cols, "storage has \(storage.count) elements, expected \(rows * cols)")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// A matrix from row-major nested arrays (convenient in tests): `Matrix([[1, 2], [3, 4]])`.
    public init(_ rowArrays: [[Double]]) {
        let r = rowArrays.count
        let c = rowArrays.first?.count ?? 0
        precondition(rowArrays.allSatisfy { $0.count == c }, "ragged rows")
        var m = Matrix(rows: r, cols: c)
        for i in 0..<r { for j in 0..<c { m[i, j] = rowArrays[i][j] } }
        self = m
    }

    /// A matrix whose element (i, j) is `f(i, j)`.
    public init(rows: Int, cols: Int, _ f: (Int, Int) -> Double) {
        var m = Matrix(rows: rows, cols: cols)
        m.storage.withUnsafeMutableBufferPointer { p in
            for j in 0..<cols { for i in 0..<rows { p[i + j * rows] = f(i, j) } }
        }
        self = m
    }

    /// The n x n identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<n { m.storage[i + i * n] = 1 }
        return m
    }

    /// A square diagonal matrix with `d` on its diagonal.
    public static func diagonal(_ d: [Double]) -> Matrix {
        var m = Matrix(rows: d.count, cols: d.count)
        for i in 0..<d.count { m.storage[i + i * d.count] = d[i] }
        return m
    }

    /// A column vector (n x 1).
    public init(column v: [Double]) { self.init(rows: v.count, cols: 1, columnMajor: v) }

    @inlinable public subscript(i: Int, j: Int) -> Double {
        get { storage[i + j * rows] }
        set { storage[i + j * rows] = newValue }
    }

    public var isSquare: Bool { rows == cols }
    public var count: Int { rows * cols }

    /// Column j as an array.
    public func column(_ j: Int) -> [Double] { Array(storage[(j * rows)..<((j + 1) * rows)]) }
    /// Row i as an array.
    public func row(_ i: Int) -> [Double] { (0..<cols).map { self[i, $0] } }
    /// The main diagonal.
    public var diagonalElements: [Double] { (0..<min(rows, cols)).map { self[$0, $0] } }
    /// Sum of the diagonal.
    public var trace: Double { diagonalElements.reduce(0, +) }

    /// Rows as nested arrays (row-major), e.g. for JSON output.
    public var rowArrays: [[Double]] { (0..<rows).map { row($0) } }

    /// Elements in row-major (C) order.
    public var rowMajorStorage: [Double] { transposed().storage }

    /// The transpose (a copy).
    public func transposed() -> Matrix {
        var t = Matrix(rows: cols, cols: rows)
        storage.withUnsafeBufferPointer { src in
            t.storage.withUnsafeMutableBufferPointer { dst in
                for j in 0..<cols { for i in 0..<rows { dst[j + i * cols] = src[i + j * rows] } }
            }
        }
        return t
    }

    /// Frobenius norm sqrt(sum_ij A_ij^2).
    public var frobeniusNorm: Double { storage.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// Largest absolute element.
    public var maxAbs: Double { storage.reduce(0) { max($0, abs($1)) } }

    /// Copies the upper triangle onto the lower one (or the reverse), making the matrix exactly symmetric.
    public mutating func symmetrize(fromUpper: Bool = true) {
        precondition(isSquare)
        for j in 0..<cols {
            for i in (j + 1)..<max(rows, j + 1) {
                if fromUpper { self[i, j] = self[j, i] } else { self[j, i] = self[i, j] }
            }
        }
    }

    /// Applies `f` to every element.
    public func map(_ f: (Double) -> Double) -> Matrix {
        Matrix(rows: rows, cols: cols, columnMajor: storage.map(f))
    }

    /// The sub-matrix of the given row and column ranges.
    public func block(rows r: Range<Int>, cols c: Range<Int>) -> Matrix {
        Matrix(rows: r.count, cols: c.count) { i, j in self[r.lowerBound + i, c.lowerBound + j] }
    }

    public var description: String {
        (0..<rows).map { i in (0..<cols).map { String(format: "%10.4g", self[i, $0]) }.joined(separator: " ") }
            .joined(separator: "\n")
    }

    public static func + (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.cols == b.cols, "shape mismatch in +")
        var c = a
        for k in 0..<c.storage.count { c.storage[k] += b.storage[k] }
        return c
    }

    public static func - (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.cols == b.cols, "shape mismatch in -")
        var c = a
        for k in 0..<c.storage.count { c.storage[k] -= b.storage[k] }
        return c
    }

    public static func * (s: Double, a: Matrix) -> Matrix { a.map { s * $0 } }

    /// Matrix product through `dgemm`.
    public static func * (a: Matrix, b: Matrix) -> Matrix { BLAS.gemm(a, b) }
}
