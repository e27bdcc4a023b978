import Experiments
import Foundation
import SolvableTestSupport
import Testing

/// `solvable dmft solve` for linear phi runs the low-rank deep linear solver (LowRankDeepLinearDMFT); the dense
/// solver (`--solver linear-dense`) is the reference. Both must write the same outputs to 1e-9 relative, the factored
/// kernel files must form the dense ones, and the ranks must be in result.json.
@Suite struct DMFTSolverChoiceTests {
    static let problem = ["dmft", "solve", "--depth", "3", "--gamma0", "1.5", "--points", "5", "--dim", "9", "--steps", "16",
                          "--eta", "0.1", "--test-points", "2", "--tolerance", "1e-12", "--quiet", "--threads", "2"]

    func run(_ extra: [String], _ name: String) throws -> String {
        let dir = try SolvableProcess.scratchDirectory("dmft-choice-\(name)")
        let r = try SolvableProcess.run(Self.problem + extra + ["--out", dir])
        #expect(r.status == 0, "\(extra): \(r.stderr)")
        return dir
    }

    /// max |a - b| / max |b|.
    func relative(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        let scale = b.map(abs).max() ?? 0
        return zip(a, b).map { abs($0 - $1) }.max().map { scale > 0 ? $0 / scale : $0 } ?? 0
    }

    @Test func lowRankAndDenseWriteTheSameOutputs() throws {
        let lowRank = try run([], "lowrank"), dense = try run(["--solver", "linear-dense"], "dense")
        let factored = try run(["--kernel-format", "factored"], "factored")
        defer { for d in [lowRank, dense, factored] { try? FileManager.default.removeItem(atPath: d) } }
        let result = try JSONValue.parse(json: String(contentsOfFile: lowRank + "/result.json", encoding: .utf8))
        let summary = result
        #expect(summary["low_rank"]?["method"] == .string("low-rank"), "\(summary)")
        #expect(summary["solver"].map { "\($0)".contains("low-rank") } == true)
        let denseResult = try JSONValue.parse(json: String(contentsOfFile: dense + "/result.json", encoding: .utf8))
        #expect(denseResult["low_rank"] == nil)
        var files = ["delta", "predictions", "ntk"]
        for l in 1...3 { files += ["phi_layer\(l)", "g_layer\(l)"] }
        for f in files {
            let a = try NPY.read(lowRank + "/\(f).npy"), b = try NPY.read(dense + "/\(f).npy")
            #expect(a.shape == b.shape, "\(f)")
            #expect(relative(a.data, b.data) <= 1e-9, "\(f): \(relative(a.data, b.data))")
        }
        let loss = { (d: String) in try String(contentsOfFile: d + "/loss.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { Double($0.split(separator: ",")[2])! } }
        #expect(relative(try loss(lowRank), try loss(dense)) <= 1e-9)
        // the factors [T, n, r] form the dense kernel: Phi[t, mu, s, nu] = sum_k F[t, mu, k] F[s, nu, k]
        for l in 1...3 {
            #expect(!FileManager.default.fileExists(atPath: factored + "/phi_layer\(l).npy"))
            let f = try NPY.read(factored + "/phi_layer\(l)_factor.npy"), d = try NPY.read(dense + "/phi_layer\(l).npy")
            let (T, n, r) = (f.shape[0], f.shape[1], f.shape[2])
            #expect(T == 16 && n == 7 && r < T * n / 2, "\(f.shape)")
            var formed = [Double](repeating: 0, count: T * n * T * n)
            for i in 0..<(T * n) { for j in 0..<(T * n) {
                var v = 0.0
                for k in 0..<r { v += f.data[i * r + k] * f.data[j * r + k] }
                formed[i * T * n + j] = v
            } }
            #expect(relative(formed, d.data) <= 1e-9, "layer \(l): \(relative(formed, d.data))")
        }
    }
}
