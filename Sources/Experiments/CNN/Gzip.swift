import CZlib
import Foundation
import NumericalCore

/// gzip (and zlib) decompression through the system zlib's `inflate`, for MNIST-style `.gz` IDX files.
public enum Gzip {
    /// True when `data` starts with the gzip magic bytes 1f 8b.
    public static func isGzip(_ data: [UInt8]) -> Bool { data.count >= 2 && data[0] == 0x1f && data[1] == 0x8b }

    /// The decompressed bytes of a gzip or zlib stream (concatenated gzip members are read in turn).
    public static func inflate(_ input: [UInt8], source: String) throws -> [UInt8] {
        func fail(_ s: String) -> SolvableError { SolvableError.invalidInput(source: source, detail: "not a readable gzip file: \(s)") }
        var out = [UInt8]()
        out.reserveCapacity(input.count * 4)
        var stream = z_stream()
        // windowBits 15 + 32: detect gzip or zlib headers automatically
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw fail("inflateInit failed") }
        defer { inflateEnd(&stream) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        try input.withUnsafeBufferPointer { pin in
            var offset = 0
            while true {
                stream.next_in = UnsafeMutablePointer(mutating: pin.baseAddress! + offset)
                stream.avail_in = UInt32(input.count - offset)
                var status: Int32 = Z_OK
                repeat {
                    let produced: Int = chunk.withUnsafeMutableBufferPointer { pc in
                        stream.next_out = pc.baseAddress
                        stream.avail_out = UInt32(pc.count)
                        status = CZlib.inflate(&stream, Z_NO_FLUSH)
                        return pc.count - Int(stream.avail_out)
                    }
                    if status != Z_OK && status != Z_STREAM_END && !(status == Z_BUF_ERROR && produced > 0) {
                        throw fail(status == Z_DATA_ERROR ? "corrupt data" : "truncated stream (zlib status \(status))")
                    }
                    out.append(contentsOf: chunk[0..<produced])
                    if status == Z_BUF_ERROR && produced == 0 { throw fail("truncated stream") }
                } while status != Z_STREAM_END
                offset = input.count - Int(stream.avail_in)
                // another gzip member follows (as `cat a.gz b.gz` writes)?
                if offset + 2 <= input.count && input[offset] == 0x1f && input[offset + 1] == 0x8b {
                    inflateReset(&stream)
                    continue
                }
                break
            }
        }
        return out
    }

    /// gzip-compresses `input` (`deflate` with a gzip header), e.g. to write test files in the IDX `.gz` format.
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 64)
        var src = input
        let produced: Int = src.withUnsafeMutableBufferPointer { pin in
            out.withUnsafeMutableBufferPointer { pout in
                stream.next_in = pin.baseAddress; stream.avail_in = UInt32(pin.count)
                stream.next_out = pout.baseAddress; stream.avail_out = UInt32(pout.count)
                _ = deflate(&stream, Z_FINISH)
                return pout.count - Int(stream.avail_out)
            }
        }
        return Array(out[0..<produced])
    }
}
