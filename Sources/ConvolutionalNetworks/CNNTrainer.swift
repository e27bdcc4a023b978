import Foundation
import LinearAlgebra
import MeanFieldDynamics
import NumericalCore

/// How a CNN is trained: SGD on L = (1/2B) sum_i |f_c(x_i) - y_i|^2 with learning rate eta gamma0^2 N (the
/// mean-field scaling that keeps feature learning O(gamma0) at every width; Bordelon & Pehlevan 2022, eq. 3 and
/// section 6), minibatches of B from a seeded stream (a fresh permutation of the training set each epoch).
public struct CNNTrainingSettings: Sendable {
    public var steps: Int
    public var batchSize: Int
    public var eta: Double
    /// Record the observables every this many steps (and at step 0 and the last step).
    public var recordEvery: Int
    /// Centred output f_c(x) = f(x) - f_0(x) (f_0: the network at initialisation), so f_c = 0 at t = 0.
    public var centered: Bool
    /// Images per forward/backward chunk (bounds the im2col memory; the gradient is summed over chunks).
    public var chunk: Int

    public init(steps: Int, batchSize: Int, eta: Double, recordEvery: Int, centered: Bool = true, chunk: Int = 256) {
        self.steps = steps; self.batchSize = batchSize; self.eta = eta; self.recordEvery = max(1, recordEvery)
        self.centered = centered; self.chunk = max(1, chunk)
    }

    /// The recorded steps 0, r, 2r, ..., steps.
    public var recordedSteps: [Int] {
        var s = Array(stride(from: 0, through: steps, by: recordEvery))
        if s.last != steps { s.append(steps) }
        return s
    }
}

/// Observables of one training run at `steps`: test loss mean_i |f_c(x_i) - y_i|^2 and accuracy on the test
/// subset, the same loss on a fixed training subset, and the alignment A(Phi^L, y y^T) = <K, y y^T>_F /
/// (|K|_F |y y^T|_F) of the last layer's feature kernel K = Phi^T Phi on the test subset with the labels.
public struct CNNHistory: Sendable {
    public var steps: [Int] = []
    public var testLoss: [Double] = []
    public var testAccuracy: [Double] = []
    public var trainLoss: [Double] = []
    public var alignment: [Double] = []
    public var seconds = 0.0
    public var finite: Bool { (testLoss + trainLoss + alignment).allSatisfy(\.isFinite) }
    public init() {}
}

/// One member of an ensemble: an architecture and the indices of its random streams.
public struct CNNJob: Sendable {
    public var architecture: CNNArchitecture
    /// Initial weights from RandomStream(seed, point: initPoint, sample: member); minibatches from (seed, 0, member).
    public var initPoint: UInt64
    public var member: Int
    public init(architecture: CNNArchitecture, initPoint: UInt64, member: Int) {
        self.architecture = architecture; self.initPoint = initPoint; self.member = member
    }
}

public enum CNNTrainer {
    /// Targets: two classes give one output y = -1 (first class), +1 (second); K > 2 classes give K outputs
    /// one-hot minus 1/K (the fluctuations paper's one-hot - 0.1 for K = 10).
    public static func targets(_ labels: [Int], classes: Int) -> [Double] {
        if classes == 2 { return labels.map { $0 == 1 ? 1 : -1 } }
        var y = [Double](repeating: -1 / Double(classes), count: labels.count * classes)
        for (i, c) in labels.enumerated() { y[i * classes + c] += 1 }
        return y
    }

    public static func outputs(classes: Int) -> Int { classes == 2 ? 1 : classes }

    /// Outputs (K x n) and features Phi^L (N x n) of every image of `set`, in chunks.
    public static func evaluate<T: CNNScalar>(_ net: ConvolutionalNetwork<T>, _ set: ImageSet, chunk: Int) -> (outputs: [Double], features: [Double]) {
        var f: [Double] = [], phi: [Double] = []
        f.reserveCapacity(set.count * net.architecture.outputs); phi.reserveCapacity(set.count * net.architecture.channels)
        let idx = Array(0..<set.count)
        for start in stride(from: 0, to: set.count, by: chunk) {
            let part = idx[start..<min(set.count, start + chunk)]
            let (o, c) = net.forward(set.featureMap(part, as: T.self), images: part.count, keepCache: false)
            f += o.map(Double.init); phi += c.features.map(Double.init)
        }
        return (f, phi)
    }

    /// Test loss, accuracy and alignment of centred outputs `f - f0` against `set`'s labels.
    static func observe(outputs f: [Double], initial f0: [Double]?, features: [Double], set: ImageSet, channels N: Int) -> (loss: Double, accuracy: Double, alignment: Double) {
        let K = outputs(classes: set.classes), y = targets(set.labels, classes: set.classes), n = set.count
        var loss = 0.0, correct = 0
        for i in 0..<n {
            var best = -Double.infinity, arg = 0
            for k in 0..<K {
                let v = f[i * K + k] - (f0?[i * K + k] ?? 0)
                loss += (v - y[i * K + k]) * (v - y[i * K + k])
                if v > best { best = v; arg = k }
            }
            if K == 1 ? ((best > 0) == (set.labels[i] == 1)) : arg == set.labels[i] { correct += 1 }
        }
        return (loss / Double(n), Double(correct) / Double(n), alignment(features: features, targets: y, n: n, channels: N, outputs: K))
    }

    /// A(Phi, y y^T) with K = Phi^T Phi (n x n) and Y the n x K target matrix.
    public static func alignment(features: [Double], targets y: [Double], n: Int, channels N: Int, outputs K: Int) -> Double {
        let phi = Matrix(rows: N, cols: n, columnMajor: features)
        let kernel = BLAS.gemm(phi, phi, transposeA: true)
        let Y = Matrix(rows: K, cols: n, columnMajor: y)
        let yy = BLAS.gemm(Y, Y, transposeA: true)
        return Statistics.alignment(kernel.storage, yy.storage)
    }

    /// Trains one network and records its history. `testSet` and `trainEval` are fixed evaluation subsets.
    public static func train<T: CNNScalar>(_ job: CNNJob, precision _: T.Type, train: ImageSet, testSet: ImageSet, trainEval: ImageSet,
                                           settings: CNNTrainingSettings, seed: UInt64) -> CNNHistory {
        var stream = RandomStream(seed: seed, point: job.initPoint, sample: UInt64(job.member), purpose: "cnn init")
        let net = ConvolutionalNetwork<T>(job.architecture, stream: &stream)
        return CNNTrainer.train(net, train: train, testSet: testSet, trainEval: trainEval, settings: settings, seed: seed, member: job.member)
    }

    /// Trains `network` from its given weights (SGD, minibatches from RandomStream(seed, 0, member)).
    public static func train<T: CNNScalar>(_ network: ConvolutionalNetwork<T>, train: ImageSet, testSet: ImageSet, trainEval: ImageSet,
                                           settings st: CNNTrainingSettings, seed: UInt64, member: Int,
                                           onStep: ((Int, ConvolutionalNetwork<T>) -> Void)? = nil) -> CNNHistory {
        let clock = Date()
        var net = network
        let a = net.architecture, N = a.channels
        let rate = st.eta * a.gamma0 * a.gamma0 * Double(N)
        let y = targets(train.labels, classes: train.classes)
        let f0Train: [Double]? = st.centered ? evaluate(net, train, chunk: st.chunk).outputs : nil
        let f0Test: [Double]? = st.centered ? evaluate(net, testSet, chunk: st.chunk).outputs : nil
        let f0Eval: [Double]? = st.centered ? evaluate(net, trainEval, chunk: st.chunk).outputs : nil
        var h = CNNHistory()
        let recorded = Set(st.recordedSteps)
        func record(_ t: Int) {
            let te = evaluate(net, testSet, chunk: st.chunk)
            let o = observe(outputs: te.outputs, initial: f0Test, features: te.features, set: testSet, channels: N)
            let tr = evaluate(net, trainEval, chunk: st.chunk)
            let otr = observe(outputs: tr.outputs, initial: f0Eval, features: tr.features, set: trainEval, channels: N)
            h.steps.append(t); h.testLoss.append(o.loss); h.testAccuracy.append(o.accuracy); h.alignment.append(o.alignment)
            h.trainLoss.append(otr.loss)
        }
        var order = RandomStream(seed: seed, point: 0, sample: UInt64(member), purpose: "cnn minibatches")
        var perm = Array(0..<train.count), cursor = train.count
        let B = min(st.batchSize, train.count)
        record(0)
        for t in 1...max(1, st.steps) where st.steps >= 1 {
            if cursor + B > train.count { perm.shuffle(using: &order); cursor = 0 }
            _ = step(&net, images: train, batch: perm[cursor..<(cursor + B)], targets: y, initial: f0Train, rate: rate, chunk: st.chunk)
            cursor += B
            onStep?(t, net)
            if recorded.contains(t) {
                record(t)
                if !h.finite { break }
            }
        }
        h.seconds = Date().timeIntervalSince(clock)
        return h
    }

    /// One SGD step on the images `batch` of `images` (in chunks of `chunk`): theta -= rate grad L with
    /// L = (1/2B) sum_i |f(x_i) - f0_i - y_i|^2. Returns the batch loss (1/B) sum_i |f_c(x_i) - y_i|^2 before the step.
    static func step<T: CNNScalar>(_ net: inout ConvolutionalNetwork<T>, images: ImageSet, batch: ArraySlice<Int>, targets y: [Double],
                                   initial f0: [Double]?, rate: Double, chunk: Int) -> Double {
        let K = net.architecture.outputs, B = batch.count
        var (gw, gr) = net.zeroGradients()
        var loss = 0.0
        for start in stride(from: batch.startIndex, to: batch.endIndex, by: chunk) {
            let part = batch[start..<min(batch.endIndex, start + chunk)]
            let (f, cache) = net.forward(images.featureMap(part, as: T.self), images: part.count)
            var g = [T](repeating: 0, count: K * part.count)
            for (j, i) in part.enumerated() {
                for k in 0..<K {
                    let e = Double(f[j * K + k]) - (f0?[i * K + k] ?? 0) - y[i * K + k]
                    loss += e * e
                    g[j * K + k] = T(e / Double(B))
                }
            }
            net.backward(cache, outputGradient: g, weightGradients: &gw, readoutGradient: &gr)
        }
        net.step(rate: rate, weightGradients: gw, readoutGradient: gr)
        return loss / Double(B)
    }

    /// `step` in single precision without centring, compiled in this module (callers elsewhere get the specialised code).
    public static func sgdStep(_ net: inout ConvolutionalNetwork<Float>, images: ImageSet, batch: ArraySlice<Int>, targets: [Double],
                               rate: Double, chunk: Int = 256) -> Double {
        step(&net, images: images, batch: batch, targets: targets, initial: nil, rate: rate, chunk: chunk)
    }

    /// Trains every job (members in parallel on `threads` workers, BLAS single-threaded inside; each job draws from
    /// its own streams, so the histories do not depend on the thread count).
    public static func ensemble(_ jobs: [CNNJob], doublePrecision: Bool = false, train: ImageSet, testSet: ImageSet, trainEval: ImageSet,
                                settings: CNNTrainingSettings, seed: UInt64, threads: Int, progress: (@Sendable () -> Void)? = nil) -> [CNNHistory] {
        ThreadPolicy.parallelMap(jobs.count, threads: threads) { j in
            let h = doublePrecision
                ? CNNTrainer.train(jobs[j], precision: Double.self, train: train, testSet: testSet, trainEval: trainEval, settings: settings, seed: seed)
                : CNNTrainer.train(jobs[j], precision: Float.self, train: train, testSet: testSet, trainEval: trainEval, settings: settings, seed: seed)
            progress?()
            return h
        }
    }
}
