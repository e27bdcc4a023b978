import Foundation
import LinearAlgebra
import MeanFieldDynamics
import NumericalCore

/// Labelled images in memory, NCHW (image, channel, row, column) in single precision, labels 0..<classes.
public struct ImageSet: Sendable {
    public var channels: Int, height: Int, width: Int
    public var pixels: [Float]
    public var labels: [Int]
    public var classes: Int
    public var count: Int { labels.count }
    public var imageSize: Int { channels * height * width }

    public init(channels: Int, height: Int, width: Int, pixels: [Float], labels: [Int], classes: Int) {
        precondition(pixels.count == labels.count * channels * height * width, "ImageSet: pixel count does not match the shape")
        self.channels = channels; self.height = height; self.width = width
        self.pixels = pixels; self.labels = labels; self.classes = classes
    }

    /// The images at `indices`.
    public func subset(_ indices: [Int]) -> ImageSet {
        var px = [Float](); px.reserveCapacity(indices.count * imageSize)
        for i in indices { px.append(contentsOf: pixels[(i * imageSize)..<((i + 1) * imageSize)]) }
        return ImageSet(channels: channels, height: height, width: width, pixels: px, labels: indices.map { labels[$0] }, classes: classes)
    }

    /// The images at `indices` as a C x (B H W) channel-fastest feature map (see `FeatureMapShape`).
    public func featureMap<T: CNNScalar>(_ indices: ArraySlice<Int>, as _: T.Type = T.self) -> [T] {
        let C = channels, HW = height * width
        var out = [T](repeating: 0, count: indices.count * imageSize)
        for (b, i) in indices.enumerated() {
            let base = i * imageSize
            for c in 0..<C { for p in 0..<HW { out[(b * HW + p) * C + c] = T(pixels[base + c * HW + p]) } }
        }
        return out
    }
}

/// A mean-field (muP) convolutional network (Bordelon & Pehlevan 2022, section 6 and app. on CNNs; Bordelon &
/// Pehlevan 2023, final experiment): L layers of 3x3 'SAME' convolutions without bias,
///     h^1 = W^1 * x / sqrt(9 C_0),   h^l = W^l * A^{l-1} / sqrt(9 N),   A^l = pool(phi(h^l)),
/// global average pooling Phi^L = GAP(A^L) (N features per image) and the readout f = w . Phi^L / (gamma0 N),
/// all weights N(0, 1) at initialisation. See docs/cnn.md.
public struct CNNArchitecture: Sendable {
    public var inputChannels: Int, height: Int, width: Int
    /// Channels N of every hidden layer (the width).
    public var channels: Int
    public var convLayers: Int
    /// 2x2 average pooling after each convolution (the fluctuations paper's CNN); none otherwise.
    public var pool: Bool
    /// Readout dimension K (1 for two classes with targets +-1).
    public var outputs: Int
    public var activation: Activation
    public var gamma0: Double

    public init(inputChannels: Int, height: Int, width: Int, channels: Int, convLayers: Int, pool: Bool, outputs: Int,
                activation: Activation, gamma0: Double) throws {
        try Validate.positive("gamma0", gamma0)
        guard channels >= 1 else { throw SolvableError.invalidParameter(name: "width", value: "\(channels)", allowed: ">= 1") }
        guard convLayers >= 1 else { throw SolvableError.invalidParameter(name: "layers", value: "\(convLayers)", allowed: ">= 1") }
        if pool && (height >> convLayers == 0 || width >> convLayers == 0) {
            throw SolvableError.invalidParameter(name: "layers", value: "\(convLayers)",
                                                 allowed: "at most \(Int(log2(Double(min(height, width))))) with 2x2 pooling after each layer on \(height)x\(width) images")
        }
        self.inputChannels = inputChannels; self.height = height; self.width = width; self.channels = channels
        self.convLayers = convLayers; self.pool = pool; self.outputs = outputs; self.activation = activation; self.gamma0 = gamma0
    }

    /// The input shape of each convolution for `images` images, plus the shape entering global average pooling.
    public func shapes(images: Int) -> [FeatureMapShape] {
        var s = FeatureMapShape(channels: inputChannels, images: images, height: height, width: width)
        var out = [s]
        for _ in 0..<convLayers {
            s.channels = channels
            if pool { s = s.pooled }
            out.append(s)
        }
        return out
    }

    /// Multiply-adds of the convolutions and readout per image (forward pass).
    public var forwardMultiplyAdds: Double {
        let sh = shapes(images: 1)
        var f = 0.0
        for l in 0..<convLayers {
            f += Double(channels) * Double(9 * sh[l].channels) * Double(sh[l].height * sh[l].width)
        }
        return f + Double(outputs * channels)
    }
}

/// phi and phi' of the core's `Activation` applied to arrays, with closed forms for ReLU kinds and linear.
struct Pointwise<T: CNNScalar> {
    let activation: Activation
    func phi(_ h: [T]) -> [T] {
        switch activation.kind {
        case .linear: return h
        case .relu: let s = T(activation.reluScale); return h.map { $0 > 0 ? s * $0 : 0 }
        case .other: let f = activation.phi; return h.map { T(f(Double($0))) }
        }
    }
    /// g <- g * phi'(h).
    func timesDerivative(_ g: inout [T], _ h: [T]) {
        switch activation.kind {
        case .linear: return
        case .relu: let s = T(activation.reluScale); for i in 0..<g.count { g[i] = h[i] > 0 ? s * g[i] : 0 }
        case .other: let d = activation.derivative; for i in 0..<g.count { g[i] *= T(d(Double(h[i]))) }
        }
    }
}

/// The weights of a `CNNArchitecture` in precision T, with forward and backward passes by im2col + GEMM.
public struct ConvolutionalNetwork<T: CNNScalar>: Sendable {
    public let architecture: CNNArchitecture
    /// Layer l's N x 9 C_{l-1} column-major filter matrix (im2col order: offset-major, channel-minor).
    public var weights: [[T]]
    /// The K x N readout.
    public var readout: [T]

    /// Weights drawn N(0, 1) in double precision from `stream` (so networks in either precision start equal up to rounding).
    public init(_ a: CNNArchitecture, stream: inout RandomStream) {
        architecture = a
        let sh = a.shapes(images: 1)
        weights = (0..<a.convLayers).map { l in stream.gaussians(a.channels * 9 * sh[l].channels).map { T($0) } }
        readout = stream.gaussians(a.outputs * a.channels).map { T($0) }
    }

    public init<S: CNNScalar>(converting other: ConvolutionalNetwork<S>) {
        architecture = other.architecture
        weights = other.weights.map { $0.map { T($0) } }
        readout = other.readout.map { T($0) }
    }

    /// What the backward pass needs from the forward pass.
    public struct Cache {
        var shapes: [FeatureMapShape] = []
        var cols: [[T]] = []
        var preactivations: [[T]] = []
        var postactivations: [[T]] = []
        /// Phi^L, N x B.
        public var features: [T] = []
    }

    /// Outputs f (K x B) for the C_0 x (B H W) input map `x` of `images` images, and the cache.
    public func forward(_ x: [T], images: Int, keepCache: Bool = true) -> (outputs: [T], cache: Cache) {
        let a = architecture, N = a.channels, act = Pointwise<T>(activation: a.activation)
        var cache = Cache()
        cache.shapes = a.shapes(images: images)
        var input = x
        var col: [T] = []
        for l in 0..<a.convLayers {
            var s = cache.shapes[l]
            Convolution.im2col(input, s, into: &col)
            var h = [T](repeating: 0, count: N * s.positions)
            gemm(N, s.positions, 9 * s.channels, weights[l], col, into: &h, alpha: 1 / T(9 * s.channels).squareRoot())
            let phi = act.phi(h)
            s.channels = N
            input = a.pool ? Convolution.averagePool(phi, s) : phi
            if keepCache { cache.cols.append(col); cache.preactivations.append(h); cache.postactivations.append(phi) }
        }
        cache.features = Convolution.globalAveragePool(input, cache.shapes[a.convLayers])
        var f = [T](repeating: 0, count: a.outputs * images)
        gemm(a.outputs, images, N, readout, cache.features, into: &f, alpha: 1 / T(a.gamma0 * Double(N)))
        return (f, cache)
    }

    /// The gradient of a loss with dL/df = `outputGradient` (K x B) with respect to every weight, added into
    /// (`weightGradients`, `readoutGradient`) (which start as zeros of the weights' shapes).
    public func backward(_ cache: Cache, outputGradient g: [T], weightGradients: inout [[T]], readoutGradient: inout [T]) {
        let a = architecture, N = a.channels, B = cache.shapes[0].images, act = Pointwise<T>(activation: a.activation)
        let r = 1 / T(a.gamma0 * Double(N))
        gemm(a.outputs, N, B, g, cache.features, transposeB: true, into: &readoutGradient, alpha: r, beta: 1)
        var dPhi = [T](repeating: 0, count: N * B)
        gemm(N, B, a.outputs, readout, transposeA: true, g, into: &dPhi, alpha: r)
        var dA = Convolution.globalAveragePoolBackward(dPhi, cache.shapes[a.convLayers])
        for l in stride(from: a.convLayers - 1, through: 0, by: -1) {
            let s = cache.shapes[l]
            var full = s; full.channels = N
            var dH = a.pool ? Convolution.averagePoolBackward(dA, full) : dA
            act.timesDerivative(&dH, cache.preactivations[l])
            let scale = 1 / T(9 * s.channels).squareRoot()
            gemm(N, 9 * s.channels, s.positions, dH, cache.cols[l], transposeB: true, into: &weightGradients[l], alpha: scale, beta: 1)
            if l > 0 {
                var dCol = [T](repeating: 0, count: 9 * s.channels * s.positions)
                gemm(9 * s.channels, s.positions, N, weights[l], transposeA: true, dH, into: &dCol, alpha: scale)
                Convolution.col2im(dCol, s, into: &dA)
            }
        }
    }

    /// Zero gradients of this network's shape.
    public func zeroGradients() -> (weights: [[T]], readout: [T]) {
        (weights.map { [T](repeating: 0, count: $0.count) }, [T](repeating: 0, count: readout.count))
    }

    /// theta <- theta - rate * gradient.
    public mutating func step(rate: Double, weightGradients: [[T]], readoutGradient: [T]) {
        let lr = T(rate)
        for l in 0..<weights.count { for i in 0..<weights[l].count { weights[l][i] -= lr * weightGradients[l][i] } }
        for i in 0..<readout.count { readout[i] -= lr * readoutGradient[i] }
    }
}
