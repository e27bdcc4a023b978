/// Spatial operations of the CNN on feature maps stored channel-fastest: a map with C channels over B images of
/// H x W pixels is a column-major C x (B H W) matrix, entry (c, (b H + y) W + x). In this layout a 3x3 'SAME'
/// convolution is one GEMM, H^out = W col(A) with col(A) the (9 C) x (B H W) im2col matrix (Chellapilla et al. 2006).
public struct FeatureMapShape: Sendable, Equatable {
    public var channels: Int, images: Int, height: Int, width: Int
    public init(channels: Int, images: Int, height: Int, width: Int) {
        self.channels = channels; self.images = images; self.height = height; self.width = width
    }
    public var positions: Int { images * height * width }
    public var count: Int { channels * positions }
    /// The shape after 2x2 average pooling with stride 2 (a trailing odd row or column is dropped).
    public var pooled: FeatureMapShape { FeatureMapShape(channels: channels, images: images, height: height / 2, width: width / 2) }
}

public enum Convolution {
    /// The 3x3 offsets (dy, dx) in the order of the im2col rows: row block k = 3 (dy + 1) + (dx + 1).
    static let offsets: [(Int, Int)] = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0), (0, 1), (1, -1), (1, 0), (1, 1)]

    /// col(A)[(k C + c), p] = A[c, p shifted by offset k], zero outside the image ('SAME' zero padding).
    public static func im2col<T: CNNScalar>(_ a: [T], _ s: FeatureMapShape, into col: inout [T]) {
        let C = s.channels, H = s.height, W = s.width, rows = 9 * C, offsets = Convolution.offsets
        if col.count != rows * s.positions { col = [T](repeating: 0, count: rows * s.positions) }
        a.withUnsafeBufferPointer { pa in
            col.withUnsafeMutableBufferPointer { pc in
                for b in 0..<s.images {
                    for y in 0..<H {
                        for x in 0..<W {
                            let p = (b * H + y) * W + x
                            let dst = pc.baseAddress! + p * rows
                            for k in 0..<9 {
                                let yy = y + offsets[k].0, xx = x + offsets[k].1
                                if yy < 0 || yy >= H || xx < 0 || xx >= W {
                                    (dst + k * C).update(repeating: 0, count: C)
                                } else {
                                    (dst + k * C).update(from: pa.baseAddress! + ((b * H + yy) * W + xx) * C, count: C)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: A[c, q] = sum over (k, p) with p shifted by k = q of col[(k C + c), p].
    public static func col2im<T: CNNScalar>(_ col: [T], _ s: FeatureMapShape, into a: inout [T]) {
        let C = s.channels, H = s.height, W = s.width, rows = 9 * C, offsets = Convolution.offsets
        a = [T](repeating: 0, count: s.count)
        col.withUnsafeBufferPointer { pc in
            a.withUnsafeMutableBufferPointer { pa in
                for b in 0..<s.images {
                    for y in 0..<H {
                        for x in 0..<W {
                            let src = pc.baseAddress! + ((b * H + y) * W + x) * rows
                            for k in 0..<9 {
                                let yy = y + offsets[k].0, xx = x + offsets[k].1
                                if yy < 0 || yy >= H || xx < 0 || xx >= W { continue }
                                let dst = pa.baseAddress! + ((b * H + yy) * W + xx) * C
                                let from = src + k * C
                                for c in 0..<C { dst[c] += from[c] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Direct (naive) 3x3 'SAME' convolution out[n, (b, y, x)] = sum_{c, dy, dx} w[n, (k, c)] a[c, (b, y+dy, x+dx)],
    /// with w an N x 9C column-major matrix in im2col order: the independent reference of the tests.
    public static func direct(_ a: [Double], _ s: FeatureMapShape, weights w: [Double], outChannels N: Int) -> [Double] {
        let C = s.channels, H = s.height, W = s.width
        var out = [Double](repeating: 0, count: N * s.positions)
        for b in 0..<s.images { for y in 0..<H { for x in 0..<W {
            let p = (b * H + y) * W + x
            for n in 0..<N {
                var acc = 0.0
                for k in 0..<9 {
                    let yy = y + offsets[k].0, xx = x + offsets[k].1
                    guard yy >= 0, yy < H, xx >= 0, xx < W else { continue }
                    for c in 0..<C { acc += w[n + N * (k * C + c)] * a[c + C * ((b * H + yy) * W + xx)] }
                }
                out[n + N * p] = acc
            }
        } } }
        return out
    }

    /// 2x2 average pooling with stride 2: out[c, (b, y, x)] = (1/4) sum of the 2x2 block at (2y, 2x).
    public static func averagePool<T: CNNScalar>(_ a: [T], _ s: FeatureMapShape) -> [T] {
        let o = s.pooled, C = s.channels
        var out = [T](repeating: 0, count: o.count)
        a.withUnsafeBufferPointer { pa in out.withUnsafeMutableBufferPointer { po in
            for b in 0..<s.images { for y in 0..<o.height { for x in 0..<o.width {
                let dst = ((b * o.height + y) * o.width + x) * C
                let s00 = ((b * s.height + 2 * y) * s.width + 2 * x) * C, s01 = s00 + C
                let s10 = s00 + s.width * C, s11 = s10 + C
                for c in 0..<C { po[dst + c] = 0.25 * (pa[s00 + c] + pa[s01 + c] + pa[s10 + c] + pa[s11 + c]) }
            } } }
        } }
        return out
    }

    /// The adjoint of `averagePool`: each input pixel of a pooled block receives 1/4 of the block's gradient.
    public static func averagePoolBackward<T: CNNScalar>(_ g: [T], _ s: FeatureMapShape) -> [T] {
        let o = s.pooled, C = s.channels
        var out = [T](repeating: 0, count: s.count)
        g.withUnsafeBufferPointer { pg in out.withUnsafeMutableBufferPointer { po in
            for b in 0..<s.images { for y in 0..<o.height { for x in 0..<o.width {
                let src = ((b * o.height + y) * o.width + x) * C
                let d00 = ((b * s.height + 2 * y) * s.width + 2 * x) * C, d01 = d00 + C
                let d10 = d00 + s.width * C, d11 = d10 + C
                for c in 0..<C { let v = 0.25 * pg[src + c]; po[d00 + c] = v; po[d01 + c] = v; po[d10 + c] = v; po[d11 + c] = v }
            } } }
        } }
        return out
    }

    /// Global average pooling: the C x B feature matrix Phi[c, b] = (1/HW) sum_{y,x} a[c, (b, y, x)].
    public static func globalAveragePool<T: CNNScalar>(_ a: [T], _ s: FeatureMapShape) -> [T] {
        let C = s.channels, HW = s.height * s.width
        var out = [T](repeating: 0, count: C * s.images)
        let inv = 1 / T(HW)
        for b in 0..<s.images {
            for p in 0..<HW { let src = (b * HW + p) * C; for c in 0..<C { out[b * C + c] += a[src + c] } }
            for c in 0..<C { out[b * C + c] *= inv }
        }
        return out
    }

    /// The adjoint of `globalAveragePool`.
    public static func globalAveragePoolBackward<T: CNNScalar>(_ g: [T], _ s: FeatureMapShape) -> [T] {
        let C = s.channels, HW = s.height * s.width
        var out = [T](repeating: 0, count: s.count)
        let inv = 1 / T(HW)
        for b in 0..<s.images { for p in 0..<HW { let dst = (b * HW + p) * C; for c in 0..<C { out[dst + c] = g[b * C + c] * inv } } }
        return out
    }
}
