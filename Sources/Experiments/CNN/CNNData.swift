import ConvolutionalNetworks
import Foundation
import NumericalCore

/// The image data of the CNN commands: where it comes from (Fashion-MNIST from Debian's `dataset-fashion-mnist`
/// by default, or a directory of CIFAR-10 binary batches, IDX files or .npy tensors) and how it is prepared
/// (class selection, grayscale, downsampling, normalisation, train/test subsets). See docs/cnn.md.
public enum CNNData {
    /// Where Debian's `dataset-fashion-mnist` installs the Fashion-MNIST IDX files.
    public static let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

    public static let parameters: [ParameterSpec] = [
        ParameterSpec("data", .string, default: .string("fashion-mnist"),
                      help: "fashion-mnist (Debian's dataset-fashion-mnist, installed by `make deps`) or a directory holding CIFAR-10 binary batches (data_batch_*.bin, test_batch.bin), IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...) or .npy tensors (train_images.npy, train_labels.npy, test_images.npy, test_labels.npy)"),
        ParameterSpec("format", .choice(["auto", "cifar10", "idx", "npy"]), default: .string("auto"), help: "file format of --data (auto: by the file names found)"),
        ParameterSpec("layout", .choice(["nchw", "nhwc"]), default: .string("nchw"), help: ".npy image tensors: (N, C, H, W) or (N, H, W, C)"),
        ParameterSpec("classes", .intList(0...999), default: .array([.int(0), .int(2)]),
                      help: "the classes used, relabelled 0, 1, ... in this order (two classes: one output with targets -1, +1; Fashion-MNIST 0 = T-shirt/top, 2 = pullover)"),
        ParameterSpec("grayscale", .bool, default: .bool(false), help: "average colour channels to one (luminance 0.299 R + 0.587 G + 0.114 B for 3 channels)"),
        ParameterSpec("downsample", .choice(["1", "2", "4"]), default: .string("1"), help: "average the input over blocks of this many pixels squared"),
        ParameterSpec("normalize", .choice(["standardize", "unit", "none"]), default: .string("standardize"),
                      help: "standardize: per-channel mean 0, variance 1 over the training subset; unit: pixels / 255; none"),
        ParameterSpec("train_size", .int(1...10_000_000), default: .int(10_000), help: "training images (the first of the selected classes in file order)"),
        ParameterSpec("test_size", .int(1...10_000_000), default: .int(2000), help: "test images the observables are measured on (the first of the selected classes)"),
        ParameterSpec("train_eval_size", .int(1...10_000_000), default: .int(1000), help: "training images the training loss is measured on (the first of the training subset)"),
    ]

    /// The prepared data: training set, test subset, training-evaluation subset, and a description.
    public struct Prepared: Sendable {
        public var train: ImageSet, test: ImageSet, trainEval: ImageSet
        public var source: String
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// Reads the raw train and test sets of `--data` / `--format` / `--layout`.
    public static func read(_ p: Parameters) throws -> (train: ImageSet, test: ImageSet, source: String) {
        var dir = p.string("data")
        if dir == "fashion-mnist" {
            dir = fashionMNISTDirectory
            guard exists(dir) else {
                throw SolvableError.invalidParameter(name: "data", value: "fashion-mnist",
                                                     allowed: "a data directory, or fashion-mnist once Debian's dataset-fashion-mnist is installed (`make deps`; expected in \(fashionMNISTDirectory))")
            }
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw SolvableError.invalidParameter(name: "data", value: dir, allowed: "fashion-mnist or an existing directory of image files")
        }
        let path = { (name: String) in (dir as NSString).appendingPathComponent(name) }
        func gzOrRaw(_ stem: String) -> String? { [stem, stem + ".gz"].map(path).first(where: exists) }
        var format = p.string("format")
        if format == "auto" {
            if exists(path("data_batch_1.bin")) { format = "cifar10" }
            else if gzOrRaw("train-images-idx3-ubyte") != nil { format = "idx" }
            else if exists(path("train_images.npy")) { format = "npy" }
            else {
                throw SolvableError.invalidParameter(name: "data", value: dir,
                                                     allowed: "a directory with data_batch_1.bin (CIFAR-10), train-images-idx3-ubyte[.gz] (IDX) or train_images.npy (npy)")
            }
        }
        switch format {
        case "cifar10":
            let batches = (1...5).map { path("data_batch_\($0).bin") }.filter(exists)
            guard !batches.isEmpty, exists(path("test_batch.bin")) else {
                throw SolvableError.invalidParameter(name: "data", value: dir, allowed: "a CIFAR-10 directory with data_batch_1.bin ... and test_batch.bin")
            }
            return (try ImageReaders.cifar10(batches), try ImageReaders.cifar10([path("test_batch.bin")]), "CIFAR-10 binary batches in \(dir)")
        case "idx":
            let names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
            let files = names.map(gzOrRaw)
            guard files.allSatisfy({ $0 != nil }) else {
                throw SolvableError.invalidParameter(name: "data", value: dir, allowed: "an IDX directory with " + names.map { $0 + "[.gz]" }.joined(separator: ", "))
            }
            let maxLabel = max(10, (p.ints("classes").max() ?? 0) + 1)
            return (try ImageReaders.idxImages(images: files[0]!, labels: files[1]!, classes: maxLabel),
                    try ImageReaders.idxImages(images: files[2]!, labels: files[3]!, classes: maxLabel),
                    dir == fashionMNISTDirectory ? "Fashion-MNIST (Debian dataset-fashion-mnist)" : "IDX files in \(dir)")
        default:
            let names = ["train_images.npy", "train_labels.npy", "test_images.npy", "test_labels.npy"]
            guard names.map(path).allSatisfy(exists) else {
                throw SolvableError.invalidParameter(name: "data", value: dir, allowed: "an npy directory with " + names.joined(separator: ", "))
            }
            let nhwc = p.string("layout") == "nhwc"
            let tr = try ImageReaders.npy(images: path(names[0]), labels: path(names[1]), channelsLast: nhwc)
            let te = try ImageReaders.npy(images: path(names[2]), labels: path(names[3]), channelsLast: nhwc)
            guard (tr.channels, tr.height, tr.width) == (te.channels, te.height, te.width) else {
                throw SolvableError.invalidInput(source: path(names[2]), detail: "test images are \(te.channels)x\(te.height)x\(te.width), training images \(tr.channels)x\(tr.height)x\(tr.width)")
            }
            return (tr, te, ".npy tensors in \(dir) (\(p.string("layout")))")
        }
    }

    /// Selects `classes` (relabelled 0..<k) and the first `limit` images of them.
    public static func select(_ s: ImageSet, classes: [Int], limit: Int, name: String) throws -> ImageSet {
        var map = [Int: Int]()
        for (k, c) in classes.enumerated() { map[c] = k }
        var idx = [Int]()
        for i in 0..<s.count where map[s.labels[i]] != nil { idx.append(i); if idx.count == limit { break } }
        guard !idx.isEmpty else {
            throw SolvableError.invalidParameter(name: "classes", value: classes.map(String.init).joined(separator: ","),
                                                 allowed: "classes present in the \(name) set (labels 0..<\(s.classes))")
        }
        var out = s.subset(idx)
        out.labels = out.labels.map { map[$0]! }
        out.classes = classes.count
        return out
    }

    /// Averages the channels (3 channels: luminance weights).
    public static func grayscale(_ s: ImageSet) -> ImageSet {
        if s.channels == 1 { return s }
        let HW = s.height * s.width, C = s.channels
        let w: [Float] = C == 3 ? [0.299, 0.587, 0.114] : [Float](repeating: 1 / Float(C), count: C)
        var px = [Float](repeating: 0, count: s.count * HW)
        for i in 0..<s.count { for c in 0..<C { for q in 0..<HW { px[i * HW + q] += w[c] * s.pixels[(i * C + c) * HW + q] } } }
        return ImageSet(channels: 1, height: s.height, width: s.width, pixels: px, labels: s.labels, classes: s.classes)
    }

    /// Averages over f x f pixel blocks (a trailing partial block is dropped).
    public static func downsample(_ s: ImageSet, by f: Int) -> ImageSet {
        if f == 1 { return s }
        let H = s.height / f, W = s.width / f, C = s.channels
        var px = [Float](repeating: 0, count: s.count * C * H * W)
        let inv = 1 / Float(f * f)
        for i in 0..<s.count { for c in 0..<C { for y in 0..<H { for x in 0..<W {
            var acc: Float = 0
            for dy in 0..<f { for dx in 0..<f { acc += s.pixels[((i * C + c) * s.height + y * f + dy) * s.width + x * f + dx] } }
            px[((i * C + c) * H + y) * W + x] = acc * inv
        } } } }
        return ImageSet(channels: C, height: H, width: W, pixels: px, labels: s.labels, classes: s.classes)
    }

    /// Applies `--normalize` with statistics of `reference` (the training set) to `s`.
    public static func normalize(_ s: ImageSet, reference: ImageSet, mode: String) -> ImageSet {
        var out = s
        switch mode {
        case "unit": out.pixels = s.pixels.map { $0 / 255 }
        case "standardize":
            let C = s.channels, HW = s.height * s.width
            for c in 0..<C {
                var m = RunningMoments()
                for i in 0..<reference.count { for q in 0..<HW { m.add(Double(reference.pixels[(i * C + c) * HW + q])) } }
                let sd = m.variance > 0 ? m.variance.squareRoot() : 1
                for i in 0..<s.count { for q in 0..<HW { let k = (i * C + c) * HW + q; out.pixels[k] = Float((Double(s.pixels[k]) - m.mean) / sd) } }
            }
        default: break
        }
        return out
    }

    /// Reads and prepares the data of the CNN parameters `p`.
    public static func prepare(_ p: Parameters) throws -> Prepared {
        let raw = try read(p)
        let classes = p.ints("classes")
        guard classes.count >= 2, Set(classes).count == classes.count else {
            throw SolvableError.invalidParameter(name: "classes", value: classes.map(String.init).joined(separator: ","), allowed: "at least two distinct class labels")
        }
        if let bad = classes.first(where: { $0 >= raw.train.classes }) {
            throw SolvableError.invalidParameter(name: "classes", value: "\(bad)", allowed: "labels 0..<\(raw.train.classes) of this data set")
        }
        func prep(_ s: ImageSet) -> ImageSet {
            let g = p.bool("grayscale") ? grayscale(s) : s
            return downsample(g, by: Int(p.string("downsample"))!)
        }
        let train = prep(try select(raw.train, classes: classes, limit: p.int("train_size"), name: "training"))
        let test = prep(try select(raw.test, classes: classes, limit: p.int("test_size"), name: "test"))
        guard train.height >= 2, train.width >= 2 else {
            throw SolvableError.invalidParameter(name: "downsample", value: p.string("downsample"), allowed: "a factor leaving images of at least 2x2 pixels")
        }
        let mode = p.string("normalize")
        let ntrain = normalize(train, reference: train, mode: mode), ntest = normalize(test, reference: train, mode: mode)
        let evalCount = min(p.int("train_eval_size"), ntrain.count)
        return Prepared(train: ntrain, test: ntest, trainEval: ntrain.subset(Array(0..<evalCount)),
                        source: "\(raw.source); classes \(classes.map(String.init).joined(separator: ",")); \(ntrain.channels)x\(ntrain.height)x\(ntrain.width); \(ntrain.count) train, \(ntest.count) test")
    }
}
