import ConvolutionalNetworks
import Foundation
import LinearAlgebra
import MeanFieldDynamics
import NumericalCore

/// Benchmark cases of the CNN trainer (Solvable's side; the numpy side is `bench/cases/cnn-epoch*.py`): one epoch of
/// minibatch SGD of a mean-field ReLU CNN in single precision, on deterministic images and weights both sides build
/// from the same formulas, so their per-step batch losses must agree to float rounding.
public enum CNNBench {
    /// The same protocol at the fluctuations paper's widths (N = 32, 128; 5 layers with pooling) and the DMFT paper's
    /// (N = 250; parameters in each bench/cases file).
    public static let cases: [BenchCase] = ["cnn-epoch", "cnn-epoch-wide", "cnn-epoch-dmft"].map(epoch)

    /// Pixel (i, c, y, x) = sin(0.37 i + 1.3 c + 0.71 y + 0.113 x (1 + i mod 7)); label i mod 2.
    static func images(count n: Int, channels C: Int, size S: Int) -> ImageSet {
        var px = [Float](repeating: 0, count: n * C * S * S)
        for i in 0..<n { for c in 0..<C { for y in 0..<S { for x in 0..<S {
            px[((i * C + c) * S + y) * S + x] = Float(sin(0.37 * Double(i) + 1.3 * Double(c) + 0.71 * Double(y) + 0.113 * Double(x) * Double(1 + i % 7)))
        } } } }
        return ImageSet(channels: C, height: S, width: S, pixels: px, labels: (0..<n).map { $0 % 2 }, classes: 2)
    }

    /// Weight j (column-major, im2col order) of layer l: sqrt(2) sin(0.7 j + 1.1 l + 0.3); readout sqrt(2) sin(0.9 j + 0.5).
    static func deterministicWeights(_ net: inout ConvolutionalNetwork<Float>) {
        for l in 0..<net.weights.count { for j in 0..<net.weights[l].count { net.weights[l][j] = Float(2.0.squareRoot() * sin(0.7 * Double(j) + 1.1 * Double(l) + 0.3)) } }
        for j in 0..<net.readout.count { net.readout[j] = Float(2.0.squareRoot() * sin(0.9 * Double(j) + 0.5)) }
    }

    /// sgemm GFLOP/s of an n^3 product (best of 3) with the current BLAS threads.
    static func sgemmPeak(_ n: Int = 1500) -> Double {
        var rng = RandomStream(seed: 3)
        let a = rng.gaussians(n * n).map(Float.init), b = rng.gaussians(n * n).map(Float.init)
        var c = [Float](repeating: 0, count: n * n)
        var best = Double.infinity
        for _ in 0..<3 {
            let t = Stopwatch()
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                BLAS.sgemm(m: n, n: n, k: n, pa.baseAddress!, lda: n, transposeA: false, pb.baseAddress!, ldb: n, transposeB: false, pc.baseAddress!, ldc: n)
            } } }
            best = min(best, t.elapsed)
        }
        return 2 * pow(Double(n), 3) / best / 1e9
    }

    static func epoch(_ name: String) -> BenchCase { BenchCase(name: name, summary: "one epoch of SGD of a mean-field ReLU CNN (float, im2col + sgemm) on n images") { p in
        let n = p.integer("images", default: 1024), C = p.integer("channels", default: 3), S = p.integer("size", default: 32)
        let N = p.integer("width", default: 32), L = p.integer("layers", default: 5), B = p.integer("batch_size", default: 256)
        let g0 = p.number("gamma0", default: 1), eta = p.number("eta", default: 0.05)
        let pool = p["pool"]?.doubleValue.map { $0 != 0 } ?? true
        let data = images(count: n, channels: C, size: S)
        let arch = try CNNArchitecture(inputChannels: C, height: S, width: S, channels: N, convLayers: L, pool: pool, outputs: 1,
                                       activation: .relu, gamma0: g0)
        var rng = RandomStream(seed: 1)
        var net = ConvolutionalNetwork<Float>(arch, stream: &rng)
        deterministicWeights(&net)
        let y = CNNTrainer.targets(data.labels, classes: 2)
        let rate = eta * g0 * g0 * Double(N)
        var losses: [Double] = []
        let clock = Stopwatch()
        for start in stride(from: 0, to: n - B + 1, by: B) {
            losses.append(CNNTrainer.sgdStep(&net, images: data, batch: Array(start..<(start + B))[...], targets: y, rate: rate, chunk: p.integer("chunk", default: 64)))
        }
        let seconds = clock.elapsed
        // forward GEMMs, then the weight-gradient and input-gradient GEMMs (none for the first layer's input)
        let conv = arch.forwardMultiplyAdds - Double(arch.outputs * N), first = Double(N * 9 * C * S * S)
        let flops = Double(losses.count * B) * 2 * (3 * conv - first)
        let peak = sgemmPeak()
        return BenchResult(answer: .object([("losses", .numbers(losses)), ("gflops", .number(flops / seconds / 1e9)), ("sgemm_peak_gflops", .number(peak))]),
                           seconds: seconds, flops: flops, size: "N=\(N) L=\(L) \(C)x\(S)x\(S) n=\(n) B=\(B)\(pool ? " pool" : "")")
    } }
}
