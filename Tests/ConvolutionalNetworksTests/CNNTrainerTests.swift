import ConvolutionalNetworks
import MeanFieldDynamics
import NumericalCore
import XCTest

/// Tiny synthetic image sets: class 1 images carry a bright vertical bar, class 0 a horizontal one, plus noise.
func syntheticImages(count: Int, channels: Int = 2, size: Int = 6, seed: UInt64) -> ImageSet {
    var rng = RandomStream(seed: seed, point: 0, sample: 0, purpose: "synthetic images")
    var px = [Float](), labels = [Int]()
    for i in 0..<count {
        let c = i % 2
        labels.append(c)
        for ch in 0..<channels { for y in 0..<size { for x in 0..<size {
            let bar = c == 1 ? (x == size / 2) : (y == size / 2)
            px.append(Float((bar ? 1.5 : 0) + 0.5 * rng.gaussian() + 0.1 * Double(ch)))
        } } }
    }
    return ImageSet(channels: channels, height: size, width: size, pixels: px, labels: labels, classes: 2)
}

final class CNNTrainerTests: XCTestCase {
    func testIm2colConvolutionMatchesDirectConvolution() {
        var rng = RandomStream(seed: 3)
        let s = FeatureMapShape(channels: 3, images: 2, height: 5, width: 4), N = 4
        let a = rng.gaussians(s.count), w = rng.gaussians(N * 9 * s.channels)
        var col: [Double] = []
        Convolution.im2col(a, s, into: &col)
        var out = [Double](repeating: 0, count: N * s.positions)
        w.withUnsafeBufferPointer { pw in col.withUnsafeBufferPointer { pc in out.withUnsafeMutableBufferPointer { po in
            Double.gemm(m: N, n: s.positions, k: 9 * s.channels, pw.baseAddress!, lda: N, transposeA: false, pc.baseAddress!,
                        ldb: 9 * s.channels, transposeB: false, po.baseAddress!, ldc: N, alpha: 1, beta: 0)
        } } }
        let ref = Convolution.direct(a, s, weights: w, outChannels: N)
        for k in 0..<ref.count { XCTAssertEqual(out[k], ref[k], accuracy: 1e-12) }
        // col2im is the adjoint of im2col: <im2col(a), c> = <a, col2im(c)>
        let c = rng.gaussians(col.count)
        var back: [Double] = []
        Convolution.col2im(c, s, into: &back)
        let lhs = zip(col, c).reduce(0) { $0 + $1.0 * $1.1 }, rhs = zip(a, back).reduce(0) { $0 + $1.0 * $1.1 }
        XCTAssertEqual(lhs, rhs, accuracy: 1e-10 * abs(lhs) + 1e-12)
    }

    func testPoolingAdjoints() {
        var rng = RandomStream(seed: 4)
        let s = FeatureMapShape(channels: 2, images: 2, height: 5, width: 4)
        let a = rng.gaussians(s.count)
        let p = Convolution.averagePool(a, s)
        XCTAssertEqual(p[0], (a[0] + a[2] + a[8] + a[10]) / 4, accuracy: 1e-14)   // channel 0 of pixels (0,0), (0,1), (1,0), (1,1)
        let g = rng.gaussians(p.count)
        let back = Convolution.averagePoolBackward(g, s)
        XCTAssertEqual(zip(p, g).reduce(0) { $0 + $1.0 * $1.1 }, zip(a, back).reduce(0) { $0 + $1.0 * $1.1 }, accuracy: 1e-12)
        let q = Convolution.globalAveragePool(a, s), gq = rng.gaussians(q.count)
        let bq = Convolution.globalAveragePoolBackward(gq, s)
        XCTAssertEqual(zip(q, gq).reduce(0) { $0 + $1.0 * $1.1 }, zip(a, bq).reduce(0) { $0 + $1.0 * $1.1 }, accuracy: 1e-12)
    }

    /// Backpropagation against central finite differences of L = (1/2B) sum (f - y)^2, for a smooth activation with
    /// pooling and for ReLU without.
    func testGradientMatchesFiniteDifferences() throws {
        let data = syntheticImages(count: 3, channels: 2, size: 6, seed: 1)
        for (act, pool) in [(Activation.softplus, true), (try Activation.tanh(gain: 1), false), (Activation.relu, false)] {
            let arch = try CNNArchitecture(inputChannels: 2, height: 6, width: 6, channels: 3, convLayers: 2, pool: pool, outputs: 2,
                                           activation: act, gamma0: 0.7)
            var rng = RandomStream(seed: 9)
            let net = ConvolutionalNetwork<Double>(arch, stream: &rng)
            let x: [Double] = data.featureMap(Array(0..<3)[...]), y = rng.gaussians(2 * 3)
            func loss(_ n: ConvolutionalNetwork<Double>) -> Double {
                let f = n.forward(x, images: 3, keepCache: false).outputs
                return zip(f, y).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / 6
            }
            let (f, cache) = net.forward(x, images: 3)
            var (gw, gr) = net.zeroGradients()
            net.backward(cache, outputGradient: zip(f, y).map { ($0 - $1) / 3 }, weightGradients: &gw, readoutGradient: &gr)
            let h = 1e-5
            for l in 0..<net.weights.count {
                for i in stride(from: 0, to: net.weights[l].count, by: 7) {
                    var p = net, m = net
                    p.weights[l][i] += h; m.weights[l][i] -= h
                    let fd = (loss(p) - loss(m)) / (2 * h)
                    XCTAssertEqual(gw[l][i], fd, accuracy: 1e-6 * max(1, abs(fd)), "\(act) layer \(l) weight \(i)")
                }
            }
            for i in 0..<net.readout.count {
                var p = net, m = net
                p.readout[i] += h; m.readout[i] -= h
                XCTAssertEqual(gr[i], (loss(p) - loss(m)) / (2 * h), accuracy: 1e-7, "readout \(i)")
            }
        }
    }

    func testTrainingReducesLossAndFloatMatchesDouble() throws {
        let train = syntheticImages(count: 64, seed: 2), test = syntheticImages(count: 32, seed: 3)
        let arch = try CNNArchitecture(inputChannels: 2, height: 6, width: 6, channels: 8, convLayers: 2, pool: false, outputs: 1,
                                       activation: .relu, gamma0: 1)
        let st = CNNTrainingSettings(steps: 100, batchSize: 16, eta: 0.5, recordEvery: 50)
        let job = CNNJob(architecture: arch, initPoint: 8, member: 0)
        let hd = CNNTrainer.train(job, precision: Double.self, train: train, testSet: test, trainEval: train, settings: st, seed: 5)
        let hf = CNNTrainer.train(job, precision: Float.self, train: train, testSet: test, trainEval: train, settings: st, seed: 5)
        XCTAssertEqual(hd.steps, [0, 50, 100])
        XCTAssertEqual(hd.testLoss[0], 1, accuracy: 1e-12, "centred outputs vanish at t = 0, so the loss is mean y^2 = 1")
        XCTAssertLessThan(hd.trainLoss[2], 0.2 * hd.trainLoss[0])
        XCTAssertLessThan(hd.testLoss[2], 0.5 * hd.testLoss[0])
        XCTAssertGreaterThan(hd.testAccuracy[2], 0.9)
        XCTAssertGreaterThan(hd.alignment[2], hd.alignment[0])
        // single precision: relative differences at the level of float rounding amplified by 100 SGD steps
        for (a, b) in zip(hd.trainLoss + hd.testLoss + hd.alignment, hf.trainLoss + hf.testLoss + hf.alignment) {
            XCTAssertEqual(a, b, accuracy: 1e-4 * abs(a))
        }
    }

    func testEnsembleIsIndependentOfThreadCount() throws {
        let train = syntheticImages(count: 32, seed: 2)
        let arch = try CNNArchitecture(inputChannels: 2, height: 6, width: 6, channels: 4, convLayers: 1, pool: true, outputs: 1,
                                       activation: .sqrt2Relu, gamma0: 1)
        let jobs = (0..<3).map { CNNJob(architecture: arch, initPoint: 4, member: $0) }
        let st = CNNTrainingSettings(steps: 6, batchSize: 8, eta: 0.5, recordEvery: 3)
        let one = CNNTrainer.ensemble(jobs, train: train, testSet: train, trainEval: train, settings: st, seed: 11, threads: 1)
        let two = CNNTrainer.ensemble(jobs, train: train, testSet: train, trainEval: train, settings: st, seed: 11, threads: 2)
        for (a, b) in zip(one, two) { XCTAssertEqual(a.testLoss, b.testLoss); XCTAssertEqual(a.alignment, b.alignment) }
        XCTAssertNotEqual(one[0].testLoss, one[1].testLoss, "members draw different streams")
    }
}
