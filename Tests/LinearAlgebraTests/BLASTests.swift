import Foundation
import LinearAlgebra
import Testing

/// Deterministic pseudo-random matrices for tests (LinearAlgebra has no RNG of its own).
func testMatrix(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
    var s = seed &* 6364136223846793005 &+ 1442695040888963407
    return Matrix(rows: rows, cols: cols) { _, _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return Double(Int64(bitPattern: s >> 11) % 2_000_001) / 1_000_000 - 1
    }
}

func naiveProduct(_ a: Matrix, _ b: Matrix) -> Matrix {
    Matrix(rows: a.rows, cols: b.cols) { i, j in (0..<a.cols).reduce(0) { $0 + a[i, $1] * b[$1, j] } }
}

/// Max |A - B| / max(1, max|B|): relative sup-norm error.
func relError(_ a: Matrix, _ b: Matrix) -> Double {
    precondition(a.rows == b.rows && a.cols == b.cols)
    return (a - b).maxAbs / max(1, b.maxAbs)
}

// Double precision with inner dimension <= 50 and entries in [-1, 1]: rounding error <= 50 * 2^-53 * 50 ~ 3e-13.
let blasTolerance = 1e-12

@Suite struct BLASTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmMatchesNaiveOnNonSquareShapes(ta: Bool, tb: Bool) {
        let (m, k, n) = (7, 13, 5)
        let a = testMatrix(ta ? k : m, ta ? m : k, seed: 1)
        let b = testMatrix(tb ? n : k, tb ? k : n, seed: 2)
        let c = BLAS.gemm(a, b, transposeA: ta, transposeB: tb, alpha: 1.5)
        let expected = 1.5 * naiveProduct(ta ? a.transposed() : a, tb ? b.transposed() : b)
        #expect(c.rows == m && c.cols == n)
        #expect(relError(c, expected) < blasTolerance)
    }

    @Test func gemmAccumulatesWithBeta() {
        let a = testMatrix(4, 6, seed: 3), b = testMatrix(6, 3, seed: 4)
        var c = testMatrix(4, 3, seed: 5)
        let c0 = c
        BLAS.gemm(a, b, alpha: 2, beta: -0.5, into: &c)
        #expect(relError(c, 2 * naiveProduct(a, b) + (-0.5) * c0) < blasTolerance)
    }

    @Test(arguments: [false, true])
    func gemvMatchesNaive(transpose: Bool) {
        let a = testMatrix(9, 4, seed: 6)
        let x = testMatrix(transpose ? 9 : 4, 1, seed: 7).storage
        let y = BLAS.gemv(a, x, transpose: transpose, alpha: -2)
        let expected = -2 * naiveProduct(transpose ? a.transposed() : a, Matrix(column: x))
        #expect(relError(Matrix(column: y), expected) < blasTolerance)
    }

    @Test(arguments: [false, true])
    func syrkIsTheGramMatrix(transpose: Bool) {
        let a = testMatrix(6, 11, seed: 8)
        let g = BLAS.syrk(a, transpose: transpose, alpha: 0.5)
        let expected = 0.5 * (transpose ? naiveProduct(a.transposed(), a) : naiveProduct(a, a.transposed()))
        #expect(relError(g, expected) < blasTolerance)
        #expect(g == g.transposed())
    }

    @Test(arguments: [(true, false, true), (false, false, true), (true, true, true), (false, true, false), (true, false, false)])
    func trsmSolvesTriangularSystems(upper: Bool, transpose: Bool, left: Bool) {
        let n = 6
        // well-conditioned triangular matrix: unit-ish diagonal plus small off-diagonal entries
        var t = Matrix(rows: n, cols: n) { i, j in i == j ? 2 + Double(i) / 10 : 0.3 * sin(Double(3 * i + j)) }
        for i in 0..<n { for j in 0..<n where upper ? i > j : i < j { t[i, j] = 0 } }
        let b = testMatrix(left ? n : 4, left ? 4 : n, seed: 9)
        var x = b
        BLAS.trsm(t, &x, upper: upper, transpose: transpose, left: left, alpha: 1)
        let op = transpose ? t.transposed() : t
        let back = left ? naiveProduct(op, x) : naiveProduct(x, op)
        #expect(relError(back, b) < blasTolerance)
    }

    @Test func trsvSolvesTriangularSystem() {
        var t = Matrix(rows: 5, cols: 5) { i, j in i >= j ? (i == j ? 3 : 0.5 * cos(Double(i * j))) : 0 }
        t[4, 0] = 0.7
        let b = testMatrix(5, 1, seed: 10).storage
        var x = b
        BLAS.trsv(t, &x, upper: false, transpose: true)
        #expect(relError(naiveProduct(t.transposed(), Matrix(column: x)), Matrix(column: b)) < blasTolerance)
    }

    @Test func dotMatchesNaive() {
        let x = testMatrix(17, 1, seed: 11).storage, y = testMatrix(17, 1, seed: 12).storage
        let naive = zip(x, y).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(abs(BLAS.dot(x, y) - naive) < 1e-13)
    }

    @Test func sgemmMatchesDoubleProductWithinFloatPrecision() {
        let (m, k, n) = (5, 8, 3)
        let a = testMatrix(m, k, seed: 13), b = testMatrix(k, n, seed: 14)
        let af = a.storage.map(Float.init), bf = b.storage.map(Float.init)
        var cf = [Float](repeating: 0, count: m * n)
        af.withUnsafeBufferPointer { pa in bf.withUnsafeBufferPointer { pb in cf.withUnsafeMutableBufferPointer { pc in
            BLAS.sgemm(m: m, n: n, k: k, pa.baseAddress!, lda: m, transposeA: false, pb.baseAddress!, ldb: k, transposeB: false,
                       pc.baseAddress!, ldc: m)
        } } }
        // float32: relative rounding ~ k * 2^-24 ~ 5e-7
        #expect(relError(Matrix(rows: m, cols: n, columnMajor: cf.map(Double.init)), naiveProduct(a, b)) < 1e-5)
    }

    @Test func blasRuntimeReportsACoreAndThreads() {
        #expect(!BLASRuntime.coreName.isEmpty && BLASRuntime.coreName != "unknown")
        // inside a serial region BLAS is single-threaded even when a budget is set meanwhile (from any thread)
        let before = BLASRuntime.threads
        BLASRuntime.serial {
            BLASRuntime.setThreads(2)
            #expect(BLASRuntime.threads == 1)
            BLASRuntime.serial { #expect(BLASRuntime.threads == 1) }
            #expect(BLASRuntime.threads == 1)
        }
        BLASRuntime.setThreads(before)
    }

    @Test func coreSelectionPrefersWidestKernelOnlyWhenLoadedCoreIsSlower() {
        let avx512 = BLASCoreSelection(cpuFlags: ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"])
        #expect(avx512.bestCore == "SkylakeX")
        #expect(avx512.recommendedOverride(loaded: "Prescott") == "SkylakeX")
        #expect(avx512.recommendedOverride(loaded: "SkylakeX") == nil)
        #expect(avx512.recommendedOverride(loaded: "Cooperlake") == nil)
        let avx2 = BLASCoreSelection(cpuFlags: ["avx", "avx2", "fma"])
        #expect(avx2.recommendedOverride(loaded: "Prescott") == "Haswell")
        #expect(avx2.recommendedOverride(loaded: "Haswell") == nil)
        #expect(BLASCoreSelection(cpuFlags: []).recommendedOverride(loaded: "Prescott") == nil)
    }
}
