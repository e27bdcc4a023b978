import Foundation
import LinearAlgebra
import Testing

/// A symmetric positive-definite matrix B B^T + n I.
func spdMatrix(_ n: Int, seed: UInt64) -> Matrix {
    let b = testMatrix(n, n, seed: seed)
    return naiveProduct(b, b.transposed()) + Double(n) * Matrix.identity(n)
}

@Suite struct LAPACKTests {
    @Test func symmetricEigenReconstructsAndIsOrthogonal() throws {
        let n = 12
        let b = testMatrix(n, n, seed: 21)
        let a = b + b.transposed()
        let (w, v) = try LAPACK.symmetricEigen(a)
        #expect(zip(w, w.dropFirst()).allSatisfy { $0 <= $1 })
        let reconstructed = naiveProduct(naiveProduct(v, Matrix.diagonal(w)), v.transposed())
        #expect(relError(reconstructed, a) < 1e-12)
        #expect(relError(naiveProduct(v.transposed(), v), Matrix.identity(n)) < 1e-12)
    }

    @Test func tridiagonalEigenMatchesDense() throws {
        let d = [1.0, -2, 0.5, 3], e = [0.3, 1.1, -0.7]
        var t = Matrix.diagonal(d)
        for i in 0..<3 { t[i, i + 1] = e[i]; t[i + 1, i] = e[i] }
        let (w1, _) = try LAPACK.tridiagonalEigen(diagonal: d, offDiagonal: e)
        let (w2, _) = try LAPACK.symmetricEigen(t)
        for k in 0..<4 { #expect(abs(w1[k] - w2[k]) < 1e-13) }
    }

    @Test func choleskyFactorsAndSolves() throws {
        let a = spdMatrix(9, seed: 22)
        let chol = try Cholesky(a)
        #expect(relError(naiveProduct(chol.lower, chol.lower.transposed()), a) < 1e-13)
        let b = testMatrix(9, 3, seed: 23)
        let x = try chol.solve(b)
        #expect(relError(naiveProduct(a, x), b) < 1e-12)   // residual ||AX - B|| relative
    }

    @Test func choleskyRejectsIndefiniteMatrixNamingTheRoutine() {
        let a = Matrix([[1, 2], [2, 1]])   // eigenvalues 3, -1
        #expect(throws: LinearAlgebraError.lapack(routine: "dpotrf", info: 2, reason: "the leading minor of order 2 is not positive definite")) {
            _ = try Cholesky(a)
        }
    }

    @Test func gesvSolvesGeneralSystem() throws {
        let a = testMatrix(8, 8, seed: 24) + 3 * Matrix.identity(8)
        let b = testMatrix(8, 2, seed: 25)
        let x = try LAPACK.solve(a, b)
        #expect(relError(naiveProduct(a, x), b) < 1e-12)
    }

    @Test func gesvReportsSingularMatrix() {
        let a = Matrix([[1, 2], [2, 4]])
        do {
            _ = try LAPACK.solve(a, [1, 1])
            Issue.record("expected a singular-matrix error")
        } catch let e as LinearAlgebraError {
            guard case let .lapack(routine, info, reason) = e else { Issue.record("wrong error \(e)"); return }
            #expect(routine == "dgesv" && info == 2 && reason.contains("singular"))
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test(arguments: [(10, 4), (4, 10), (6, 6)])
    func pseudoInverseSatisfiesMoorePenroseIdentities(m: Int, n: Int) throws {
        var a = testMatrix(m, n, seed: UInt64(30 + m))
        if m == n { for i in 0..<m { a[i, m - 1] = a[i, 0] } }   // rank deficient square case
        let p = try LAPACK.pseudoInverse(a)
        #expect(p.rows == n && p.cols == m)
        let ap = naiveProduct(a, p), pa = naiveProduct(p, a)
        #expect(relError(naiveProduct(ap, a), a) < 1e-11)          // A A+ A = A
        #expect(relError(naiveProduct(pa, p), p) < 1e-11)          // A+ A A+ = A+
        #expect(relError(ap.transposed(), ap) < 1e-11)             // (A A+)^T = A A+
        #expect(relError(pa.transposed(), pa) < 1e-11)             // (A+ A)^T = A+ A
    }

    @Test func leastSquaresGivesMinimumNormSolution() throws {
        // underdetermined: 3 equations, 6 unknowns; min-norm solution is A^T (A A^T)^-1 b = A+ b
        let a = testMatrix(3, 6, seed: 40), b = testMatrix(3, 1, seed: 41)
        let (x, rank) = try LAPACK.leastSquares(a, b)
        #expect(rank == 3)
        #expect(relError(x, naiveProduct(try LAPACK.pseudoInverse(a), b)) < 1e-11)
        // overdetermined: normal equations A^T A x = A^T b
        let a2 = testMatrix(9, 3, seed: 42), b2 = testMatrix(9, 1, seed: 43)
        let (x2, _) = try LAPACK.leastSquares(a2, b2)
        #expect(relError(naiveProduct(naiveProduct(a2.transposed(), a2), x2), naiveProduct(a2.transposed(), b2)) < 1e-11)
    }

    @Test func svdReconstructs() throws {
        let a = testMatrix(7, 4, seed: 44)
        let (u, s, vt) = try LAPACK.svd(a)
        #expect(zip(s, s.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(relError(naiveProduct(naiveProduct(u, Matrix.diagonal(s)), vt), a) < 1e-12)
        #expect(relError(naiveProduct(u.transposed(), u), Matrix.identity(4)) < 1e-12)
    }

    @Test func shapeMismatchIsATypedError() {
        #expect(throws: LinearAlgebraError.self) { _ = try LAPACK.solve(Matrix(rows: 2, cols: 3), Matrix(rows: 2, cols: 1)) }
        #expect(throws: LinearAlgebraError.self) { _ = try LAPACK.symmetricEigen(Matrix(rows: 2, cols: 3)) }
    }
}
