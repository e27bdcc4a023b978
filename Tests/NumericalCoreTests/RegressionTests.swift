import NumericalCore
import XCTest

final class RegressionTests: XCTestCase {
    func testInverseWidthFitRecoversCoefficientsAndErrors() throws {
        let widths: [Double] = [32, 45, 64, 90, 128, 256]
        let values = widths.map { 0.3 + 2 / $0 - 5 / ($0 * $0) }
        let f = try Regression.inverseWidth(widths: widths, values: values, sigma: [Double](repeating: 1e-3, count: 6), order: 2)
        XCTAssertEqual(f.coefficients[0], 0.3, accuracy: 1e-10)
        XCTAssertEqual(f.coefficients[1], 2, accuracy: 1e-8)
        XCTAssertEqual(f.coefficients[2], -5, accuracy: 1e-6)
        XCTAssertEqual(f.chiSquare, 0, accuracy: 1e-12)
        XCTAssertEqual(f.degreesOfFreedom, 3)
        // a constant fitted to n points with known sigma: standard error sigma / sqrt(n)
        let c = try Regression.fit(design: [[1], [1], [1], [1]], values: [1, 2, 3, 4], sigma: [2, 2, 2, 2])
        XCTAssertEqual(c.coefficients[0], 2.5, accuracy: 1e-12)
        XCTAssertEqual(c.standardErrors[0], 1, accuracy: 1e-12)
        XCTAssertEqual(c.chiSquare, 5.0 / 4, accuracy: 1e-12)
        // ordinary least squares of a line: the slope error agrees with Statistics.linearFit
        let x: [Double] = [1, 2, 3, 4, 5], y: [Double] = [1.1, 1.9, 3.2, 3.9, 5.3]
        let ols = try Regression.fit(design: x.map { [1, $0] }, values: y)
        let lf = Statistics.linearFit(x: x, y: y)
        XCTAssertEqual(ols.coefficients[1], lf.slope, accuracy: 1e-12)
        XCTAssertEqual(ols.standardErrors[1], lf.slopeError, accuracy: 1e-12)
        XCTAssertThrowsError(try Regression.fit(design: [[1, 2]], values: [1]))
    }
}
