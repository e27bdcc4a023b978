import Foundation
import LinearAlgebra
import MeanFieldDynamics
import NumericalCore

/// Benchmark cases of the DMFT model (Solvable's side; the numpy side is in `bench/cases/`).
///
/// * `dmft-deep-linear`: the deep linear DMFT of docs/theory/dmft.md §5 (Fig 2 panel b setting, L = 3, gamma0 = 1.5,
///   P = 20, D = 40, eta = 0.025, T = 100) solved to a residual tolerance. The data come from the numpy side (the
///   case module draws X and y and passes them in the parameters), so both sides solve the same problem; the
///   numpy port is the published algorithm (dense (TP) x (TP) inverses per layer and sweep).
/// * `dmft-nonlinear`: the alternating Monte Carlo solver of docs/theory/dmft.md §6, tanh, L = 2, P = 10, T = 50,
///   S = 1000, a fixed number of iterations on both sides.
/// * `dmft-network-training`: a finite network (docs/theory/dmft.md §9), L = 3 linear, N = 2048, P = 20, D = 40, T = 100,
///   trained from the initial weights the numpy side draws (seed documented there) and passes through .npy files,
///   so both sides train the same network and must agree to rounding.
///
/// Where the time goes (perf on the release binary, 2-core VM, OpenBLAS 0.3.21):
/// * deep linear: per layer and sweep O(T (TP)^2) work on (TP) x (TP) = 2000^2 kernels (the numpy port's dense
///   inverses and products are O((TP)^3)). Before: dgemm 50 % (most in staircase gemms with k <= T, i.e. small
///   inner dimensions), packing (dgemm_oncopy) 15 % (the D H^{l-1} staircase re-packed H per row block of D), serial
///   passes over the (TP)^2 matrices 13 % (the untiled transposed H + Z + Z^T sum), page faults 12 % (fresh (TP)^2
///   buffers per layer). Changes: D H^{l-1} as one gemm, Z as one interleaved [C|A] staircase gemm per quarter of the
///   rows (k = 2t instead of two k = t gemms per eighth), reused work space, a 64 x 64 tiled symmetric sum:
///   10.5 -> ~3.7 s. Then the symmetric sum, the damping, the residual and the finiteness check became one pass,
///   written into a spare buffer swapped with H^l (no copy for divergence recovery), and that pass and the C build
///   run on the thread budget: 2.9 -> 2.3 s on a quiet machine (8.4x -> ~10.5x numpy). What remains is ~45 % BLAS
///   at k <= 2T (packing included) and the memory-bound C build and fused pass over the 32 MB matrices. The horizon continuation costs 53
///   sweeps (20 at the full horizon) but no more time than 20 plain sweeps. The low-rank cases below replace it.
/// * deep linear on factors (`dmft-deep-linear-lowrank*`, docs/theory/dmft-low-rank.md): no iteration to converge,
///   one exact pass in time, O(L T n m^2) for m ~ 100-200 sources per layer (0.25 GFLOP at P = 20, T = 100; 11 at
///   P = 200, T = 200), then the verification: the response pass (row by row, dgemv-bound, O(L T^3 n)) and one sweep
///   of the dense equations on factors (dgemm/dtrsm with inner dimension T, O(L T^3 n)). At P = 200, T = 200 on a
///   loaded machine: forward ~25 %, responses ~25 %, sweep ~50 % of ~6 s, ~8 GFLOP/s overall (SVDs of n x m residuals
///   every step in the forward pass, dgemv in the responses); `verify: false` leaves the forward pass alone.
/// * nonlinear: ~90 % in the per-path Jacobian recursions (dgemm 67 %, packing 13 %). They were n-row gemms per time
///   step (n = P = 10) that re-packed the growing Jacobian at every t; blocking in time (bt n ~ 90-row gemms for the
///   contributions of earlier blocks) cut an iteration from 12.7 s to ~8 s; it now runs near the dgemm rate of the
///   small shapes. Then (issue 16): the staircase of earlier blocks skips the zero triangle of the Jacobians
///   (inner dimension from the column block's time: ~(tn)^3 / 6 multiply-adds per gemm, path and mode instead of
///   (tn)^3 / 3), the recursions run in single precision (sgemm; error ~4e-8 relative against a Monte Carlo error of
///   ~1/sqrt(S), MonteCarloPrecisionTests), and the staircase writes with beta = 0 instead of zeroing: ~3x per
///   iteration on a loaded machine (13.8 -> 4.6 s for 2 iterations at S = 256). Batching 8 or 16 paths side by side
///   into one gemm (M, N are shared) was slower (1.6x, 2.9x): one path's Jacobians (3 MB) stay in cache, a batch's
///   stream from memory (perf of the batched variant: sgemm ~50 % with a third of it packing, the strided
///   elementwise steps ~30 %).
/// * network training: the per-step gemms are (N x N) (N x P) with P = 20: bandwidth bound (each step streams the
///   32 MB hidden matrices 3 times), ~50 % of the run; the final kernels (2L syrks N (TP)^2) run at the dgemm rate.
///   The whole run reaches ~50 % of the dgemm peak; the 80 % target holds only for the kernel (syrk) part.
public enum DMFTBench {
    public static let cases: [BenchCase] = [deepLinear, lowRank("dmft-deep-linear-lowrank"), lowRank("dmft-deep-linear-lowrank-paper"),
                                            lowRank("dmft-deep-linear-lowrank-large"), nonlinear, networkTraining]

    static func matrixRows(_ v: JSONValue?) -> [[Double]] {
        guard case .array(let rows)? = v else { return [] }
        return rows.map { r in if case .array(let xs) = r { return xs.compactMap(\.doubleValue) } else { return [] } }
    }
    static func doubles(_ v: JSONValue?) -> [Double] {
        guard case .array(let xs)? = v else { return [] }
        return xs.compactMap(\.doubleValue)
    }

    /// Data passed inline ("x": P rows of length D, "y": P targets), as x.npy and y.npy in "data_dir" (for inputs
    /// too long for a command line), or drawn from `seed` (docs/theory/dmft.md §10).
    static func data(_ p: JSONValue) throws -> DMFTData {
        if case .string(let dir)? = p["data_dir"] {
            let x = try npyMatrix(dir, "x")
            return try DMFTData(trainInputs: (0..<x.rows).map { i in (0..<x.cols).map { x[i, $0] } }, targets: try npyMatrix(dir, "y").storage)
        }
        let x = matrixRows(p["x"])
        if !x.isEmpty { return try DMFTData(trainInputs: x, targets: doubles(p["y"])) }
        return try DMFTData.synthetic(trainPoints: p.integer("P", default: 20), inputDimension: p.integer("D", default: 40),
                                      seed: UInt64(p.integer("seed", default: 1)))
    }

    /// Equal-time block at the last time, P x P, row-major flattened.
    static func lastBlock(_ m: Matrix, T: Int, n: Int) -> [Double] {
        (0..<n).flatMap { i in (0..<n).map { j in m[(T - 1) * n + i, (T - 1) * n + j] } }
    }

    /// The deep linear problem and solver options of the `dmft-deep-linear*` cases (Fig 2 panel b defaults).
    static func deepLinearProblem(_ p: JSONValue) throws -> (DMFTData, DMFTProblem, DeepLinearDMFTOptions) {
        let d = try data(p)
        let problem = try DMFTProblem(data: d, depth: p.integer("L", default: 3), activation: .linear,
                                      gamma0: p.number("gamma0", default: 1.5), eta: p.number("eta", default: 0.025),
                                      timeSteps: p.integer("T", default: 100))
        let opts = DeepLinearDMFTOptions(tolerance: p.number("tolerance", default: 1e-10),
                                         maxIterations: p.integer("max_iterations", default: 500),
                                         horizonContinuation: p.integer("horizon_continuation", default: 1) != 0)
        return (d, problem, opts)
    }

    public static let deepLinear = BenchCase(
        name: "dmft-deep-linear",
        summary: "deep linear DMFT (docs/theory/dmft.md §5), L = 3, gamma0 = 1.5, P = 20, T = 100, solved to a residual tolerance"
    ) { p in
        let (d, problem, opts) = try deepLinearProblem(p)
        let L = problem.depth, T = problem.timeSteps
        let clock = Stopwatch()
        let sol = try DeepLinearDMFT.solve(problem, options: opts)
        let seconds = clock.elapsed
        guard sol.record.status.isConverged else {
            throw SolvableError.runtime("dmft-deep-linear did not converge: \(sol.record.message ?? "")")
        }
        let tr = sol.trajectory, n = d.totalCount
        return BenchResult(answer: .object([
            ("loss", .numbers(tr.loss)),
            ("H_final", .array(tr.kernelPhi.map { .numbers(lastBlock($0, T: T, n: n)) })),
            ("G", .array(tr.kernelG.map { .numbers($0.storage) })),     // T x T, symmetric
            ("iterations", .int(sol.record.iterations)),
        ]), seconds: seconds, flops: nil,
        size: "P=\(d.trainCount) T=\(T) L=\(L) g0=\(problem.gamma0) tol=\(opts.tolerance)")
    }

    /// `dmft-deep-linear-lowrank` (P = 20, T = 100, L = 3), `-paper` (P = 100, T = 100, L = 5) and `-large`
    /// (P = 200, T = 200, L = 3): the deep linear DMFT by `LowRankDeepLinearDMFT` (factored kernels;
    /// docs/theory/dmft-low-rank.md), timed from the data to the converged solution, with its flop count (forward
    /// pass + response pass + verification sweeps) for the GFLOP/s column. With `"compare_dense": 1` the dense solver
    /// solves the same problem in the same process and the answer carries its time and the largest relative
    /// differences (loss, Delta, every H^l entry, G^l, NTK). With `"check_time": k` the answer also carries the
    /// equal-time blocks H^l(k, k) and the leading (k+1) x (k+1) block of G^l, which by causality are those of the
    /// same problem on k + 1 grid times (what the numpy side can still solve at large P).
    static func lowRank(_ name: String) -> BenchCase { BenchCase(
        name: name,
        summary: "deep linear DMFT on factors (LowRankDeepLinearDMFT), solved to a residual tolerance; optionally the dense solver alongside"
    ) { p in
        let (d, problem, opts) = try deepLinearProblem(p)
        let L = problem.depth, T = problem.timeSteps
        let lowRank = LowRankDMFTOptions(verify: p.integer("verify", default: 1) != 0)
        let clock = Stopwatch()
        let sol = try LowRankDeepLinearDMFT.solveFactored(problem, options: opts, lowRank: lowRank)
        let seconds = clock.elapsed
        guard sol.record.status.isConverged else {
            throw SolvableError.runtime("dmft-deep-linear-lowrank did not converge: \(sol.record.message ?? "")")
        }
        let tr = sol.trajectory, n = d.totalCount, rep = sol.report
        let flops = rep.forwardFlops + rep.responseFlops + Double(sol.record.iterations) * rep.sweepFlops
        var fields: [(String, JSONValue)] = [
            ("loss", .numbers(tr.loss)),
            ("H_final", .array((1...L).map { .numbers(sol.equalTimeH(layer: $0, time: T - 1).rowMajorStorage) })),
            ("G", .array(tr.kernelG.map { .numbers($0.storage) })),
            ("iterations", .int(sol.record.iterations)),
            ("residual", .number(sol.record.finalResidual)),
            ("lowrank_seconds", .number(seconds)),
            ("method", .string(rep.method)),
            ("kernel_ranks", .array(rep.kernelRanks.map { .int($0) })),
            ("factor_widths", .array(rep.factorWidths.map { .int($0) })),
            ("response_seconds", .number(rep.responseSeconds)),
            ("gradient_ranks", .array(rep.gradientRanks.map { .int($0) })),
            ("rank_bounds", .array(rep.kernelRankBounds.map { .int($0) })),
            ("sources", .array(rep.sources.map { .int($0) })),
            ("left_out_weight", .number(rep.maxDiscarded)),
            ("forward_seconds", .number(rep.forwardSeconds)),
            ("verification_seconds", .number(rep.verificationSeconds)),
            ("forward_flops", .number(rep.forwardFlops)),
            ("response_flops", .number(rep.responseFlops)),
            ("sweep_flops", .number(rep.sweepFlops)),
            ("dense_kernel_bytes", .number(Double(sol.kernels.first?.denseBytes ?? 0))),
        ]
        if let k = p["check_time"]?.doubleValue.map({ Int($0) }), k >= 0, k < T {
            fields.append(("H_check", .array((1...L).map { .numbers(sol.equalTimeH(layer: $0, time: k).rowMajorStorage) })))
            fields.append(("G_check", .array(tr.kernelG.map { .numbers($0.block(rows: 0..<(k + 1), cols: 0..<(k + 1)).rowMajorStorage) })))
        }
        if p.integer("compare_dense", default: 0) != 0 {
            let c2 = Stopwatch()
            let dense = try DeepLinearDMFT.solve(problem, options: opts)
            let denseSeconds = c2.elapsed
            let dt = dense.trajectory
            func rel(_ a: Matrix, _ b: Matrix) -> Double { (a - b).frobeniusNorm / b.frobeniusNorm }
            let dl = zip(tr.loss, dt.loss).map { abs($0 - $1) / abs($1) }.max() ?? .nan
            let dd = zip(tr.delta.flatMap { $0 }, dt.delta.flatMap { $0 }).map { abs($0 - $1) }.max() ?? .nan
            let dh = try (0..<L).map { rel(try sol.kernels[$0].dense(), dt.kernelPhi[$0]) }.max() ?? .nan
            let dg = (0..<L).map { rel(tr.kernelG[$0], dt.kernelG[$0]) }.max() ?? .nan
            let dk = zip(tr.ntk, dt.ntk).map { rel($0, $1) }.max() ?? .nan
            fields += [("dense_seconds", .number(denseSeconds)), ("dense_iterations", .int(dense.record.iterations)),
                       ("dense_converged", .bool(dense.record.status.isConverged)),
                       ("vs_dense", .object([("loss", .number(dl)), ("delta", .number(dd)), ("H", .number(dh)),
                                             ("G", .number(dg)), ("ntk", .number(dk))]))]
        }
        return BenchResult(answer: .object(fields), seconds: seconds, flops: flops,
                           size: "P=\(d.trainCount) T=\(T) L=\(L) g0=\(problem.gamma0) tol=\(opts.tolerance)")
    } }

    public static let nonlinear = BenchCase(
        name: "dmft-nonlinear",
        summary: "nonlinear Monte Carlo DMFT (docs/theory/dmft.md §6), tanh, L = 2, P = 10, T = 50, S = 1000, fixed iterations"
    ) { p in
        let d = try data(p)
        let L = p.integer("L", default: 2), T = p.integer("T", default: 50)
        let problem = try DMFTProblem(data: d, depth: L, activation: try .tanh(gain: p.number("beta", default: 1)),
                                      gamma0: p.number("gamma0", default: 1.0), eta: p.number("eta", default: 0.1), timeSteps: T)
        let iters = p.integer("iterations", default: 10)
        // a tolerance no run reaches: exactly `iterations` iterations, like the numpy side
        let opts = NonlinearDMFTOptions(samples: p.integer("S", default: 1000), damping: p.number("damping", default: 0.7),
                                        maxIterations: iters, tolerance: 1e-300)
        let clock = Stopwatch()
        let sol = try NonlinearDMFT.solve(problem, options: opts, seed: UInt64(p.integer("seed", default: 1)))
        let seconds = clock.elapsed
        let tr = sol.trajectory, n = d.totalCount
        // the Jacobian recursions (~90 % of the time): per path and mode two causal staircase gemms of
        // ~(T n)^3 / 6 multiply-adds each (single precision), 2 (L - 1) modes per iteration
        let tn = Double(T * n)
        let flops = Double(sol.record.iterations) * Double(2 * (L - 1)) * Double(opts.samples) * 2 * tn * tn * tn / 3
        return BenchResult(answer: .object([
            ("loss", .numbers(tr.loss)),
            ("Phi_final", .array(tr.kernelPhi.map { .numbers(lastBlock($0, T: T, n: n)) })),
            ("iterations", .int(sol.record.iterations)),
            ("seconds_per_iteration", .number(seconds / Double(max(1, sol.record.iterations)))),
        ]), seconds: seconds, flops: flops,
        size: "P=\(d.trainCount) T=\(T) L=\(L) S=\(opts.samples) it=\(iters)")
    }

    /// Reads `name`.npy (row-major) from `dir` as a column-major Matrix.
    static func npyMatrix(_ dir: String, _ name: String) throws -> Matrix {
        let a = try NPY.read(dir + "/" + name + ".npy")
        let r = a.shape[0], c = a.shape.count > 1 ? a.shape[1] : 1
        return Matrix(rows: r, cols: c) { i, j in a.data[i * c + j] }
    }

    public static let networkTraining = BenchCase(
        name: "dmft-network-training",
        summary: "finite-width network training (docs/theory/dmft.md §9), L = 3, N = 2048, P = 20, D = 40, T = 100, shared initial weights"
    ) { p in
        guard case .string(let dir)? = p["data_dir"] else {
            throw SolvableError.invalidParameter(name: "data_dir", value: "missing", allowed: "a folder with x, y, w0, w1.., readout .npy")
        }
        let L = p.integer("L", default: 3), T = p.integer("T", default: 100), N = p.integer("N", default: 2048)
        let inputs = try data(p)                                   // x.npy, y.npy in data_dir
        let problem = try DMFTProblem(data: inputs, depth: L, activation: .linear, gamma0: p.number("gamma0", default: 1.5),
                                      eta: p.number("eta", default: 0.025), timeSteps: T)
        let w0 = try npyMatrix(dir, "w0")
        let hidden = try (1..<L).map { try npyMatrix(dir, "w\($0)") }
        let readout = try npyMatrix(dir, "readout").storage
        let trainer = try NetworkTrainer(problem: problem, width: N)
        let clock = Stopwatch()
        let tr = try trainer.train(initial: (w0, hidden, readout))
        let seconds = clock.elapsed
        let P = inputs.trainCount, D = inputs.inputDimension, Nd = Double(N), tn = Double(T * P)
        // forward + backward + update gemms per step, then the 2L kernel syrks (N (TP)^2 each)
        let perStep = 2 * Nd * Double(D) * Double(P) * 2 + Double(L - 1) * 2 * Nd * Nd * Double(P) * 3
        let flops = Double(T) * perStep + 2 * Double(L) * Nd * tn * tn
        return BenchResult(answer: .object([
            ("loss", .numbers(tr.loss)),
            ("Phi_final", .array(tr.kernelPhi.map { .numbers(lastBlock($0, T: T, n: P)) })),
            ("G_final", .array(tr.kernelG.map { .numbers(lastBlock($0, T: T, n: P)) })),
            ("alignment", .numbers((1...L).map { KernelComparison.kernelMovement(tr, layer: $0) })),
        ]), seconds: seconds, flops: flops,
        size: "N=\(N) P=\(P) T=\(T) L=\(L)")
    }
}
