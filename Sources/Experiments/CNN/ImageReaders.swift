import ConvolutionalNetworks
import Foundation
import NumericalCore

/// Readers of image data sets in the formats people have on disk, all into `ImageSet` (NCHW, raw pixel values
/// as stored, e.g. 0...255 for bytes). Malformed files throw `SolvableError.invalidInput` (exit 2, one message).
public enum ImageReaders {
    static func bytes(_ path: String) throws -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path) else { throw SolvableError.invalidInput(source: path, detail: "file not found or unreadable") }
        let raw = [UInt8](d)
        return Gzip.isGzip(raw) ? try Gzip.inflate(raw, source: path) : raw
    }

    static func bigEndian32(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }

    /// An MNIST-style IDX file of unsigned bytes (gzipped or not): magic 0x0000_08_dd (type 0x08 = ubyte, dd
    /// dimensions), big-endian 32-bit sizes, then the data. Returns the dimensions and the bytes.
    public static func idx(_ path: String) throws -> (dimensions: [Int], data: [UInt8]) {
        let b = try bytes(path)
        func fail(_ s: String) -> SolvableError { SolvableError.invalidInput(source: path, detail: "not a readable IDX file: \(s)") }
        guard b.count >= 4, b[0] == 0, b[1] == 0 else { throw fail("bad magic number") }
        guard b[2] == 0x08 else { throw fail("element type 0x\(String(b[2], radix: 16)) (only unsigned bytes, 0x08, are supported)") }
        let nd = Int(b[3])
        guard (1...4).contains(nd), b.count >= 4 + 4 * nd else { throw fail("bad dimension count or truncated header") }
        let dims = (0..<nd).map { bigEndian32(b, 4 + 4 * $0) }
        var count = 1
        for d in dims { guard d > 0, d < 1 << 31 else { throw fail("bad dimension \(d)") }; count *= d; guard count < 1 << 34 else { throw fail("too large") } }
        let start = 4 + 4 * nd
        guard b.count - start == count else { throw fail("\(b.count - start) data bytes for dimensions \(dims) (\(count) expected)") }
        return (dims, Array(b[start...]))
    }

    /// IDX images (n x rows x cols) and labels (n) into a one-channel `ImageSet` over `classes` labels.
    public static func idxImages(images: String, labels: String, classes: Int = 10) throws -> ImageSet {
        let im = try idx(images), lb = try idx(labels)
        guard im.dimensions.count == 3 else { throw SolvableError.invalidInput(source: images, detail: "IDX images must have 3 dimensions (n, rows, cols), got \(im.dimensions)") }
        guard lb.dimensions.count == 1, lb.dimensions[0] == im.dimensions[0] else {
            throw SolvableError.invalidInput(source: labels, detail: "IDX labels must be one dimension of length \(im.dimensions[0]) (the image count), got \(lb.dimensions)")
        }
        let labelValues = lb.data.map(Int.init)
        if let bad = labelValues.first(where: { $0 >= classes }) { throw SolvableError.invalidInput(source: labels, detail: "label \(bad) outside 0..<\(classes)") }
        return ImageSet(channels: 1, height: im.dimensions[1], width: im.dimensions[2], pixels: im.data.map(Float.init), labels: labelValues, classes: classes)
    }

    /// CIFAR-10 binary batches (`data_batch_1.bin` ... `test_batch.bin`): records of 1 label byte and 3072 pixel
    /// bytes (1024 red, 1024 green, 1024 blue, each 32 x 32 row-major), concatenated over `paths`.
    public static func cifar10(_ paths: [String]) throws -> ImageSet {
        var px = [Float](), labels = [Int]()
        for path in paths {
            let b = try bytes(path)
            let record = 1 + 3072
            guard !b.isEmpty, b.count % record == 0 else {
                throw SolvableError.invalidInput(source: path, detail: "not a CIFAR-10 binary batch: \(b.count) bytes is not a positive multiple of the 3073-byte record")
            }
            for r in 0..<(b.count / record) {
                let o = r * record
                guard b[o] < 10 else { throw SolvableError.invalidInput(source: path, detail: "record \(r) has label \(b[o]) outside 0..<10") }
                labels.append(Int(b[o]))
                px.append(contentsOf: b[(o + 1)..<(o + record)].map(Float.init))
            }
        }
        return ImageSet(channels: 3, height: 32, width: 32, pixels: px, labels: labels, classes: 10)
    }

    /// Image tensors from `.npy` (N, C, H, W) or, with `channelsLast`, (N, H, W, C); a 3-d array (N, H, W) is one
    /// channel. Labels: a 1-d integer `.npy` of length N.
    public static func npy(images: String, labels: String, channelsLast: Bool) throws -> ImageSet {
        let a = try NPY.read(images), l = try NPY.read(labels)
        guard a.shape.count == 3 || a.shape.count == 4, a.shape.allSatisfy({ $0 > 0 }) else {
            throw SolvableError.invalidInput(source: images, detail: "image tensor must be (N, C, H, W), (N, H, W, C) with --layout nhwc, or (N, H, W); got shape \(a.shape)")
        }
        let n = a.shape[0]
        guard l.shape == [n] else { throw SolvableError.invalidInput(source: labels, detail: "labels must have shape (\(n),), got \(l.shape)") }
        let lab = l.data.map { Int(exactly: $0) ?? -1 }
        guard lab.allSatisfy({ $0 >= 0 }) else { throw SolvableError.invalidInput(source: labels, detail: "labels must be non-negative integers") }
        guard a.data.allSatisfy(\.isFinite) else { throw SolvableError.invalidInput(source: images, detail: "non-finite pixel values") }
        let (C, H, W): (Int, Int, Int)
        if a.shape.count == 3 { (C, H, W) = (1, a.shape[1], a.shape[2]) }
        else if channelsLast { (C, H, W) = (a.shape[3], a.shape[1], a.shape[2]) }
        else { (C, H, W) = (a.shape[1], a.shape[2], a.shape[3]) }
        var px = [Float](repeating: 0, count: a.data.count)
        if channelsLast && a.shape.count == 4 {
            for i in 0..<n { for y in 0..<H { for x in 0..<W { for c in 0..<C {
                px[((i * C + c) * H + y) * W + x] = Float(a.data[((i * H + y) * W + x) * C + c])
            } } } }
        } else {
            for k in 0..<a.data.count { px[k] = Float(a.data[k]) }
        }
        return ImageSet(channels: C, height: H, width: W, pixels: px, labels: lab, classes: (lab.max() ?? 0) + 1)
    }
}
