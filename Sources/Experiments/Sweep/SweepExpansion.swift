import Foundation
import NumericalCore

extension SweepSpec {
    /// All points, in a stable order (last axis fastest, zipped group last). Every point is validated up front;
    /// input files named by `.file` parameters are read and their contents hashed into the point IDs, and
    /// checkpoint paths are checked to be owned by one point each (`checkCheckpointOwnership`).
    public func points() throws -> [SweepPoint] {
        var combos: [[(String, JSONValue)]] = [[]]
        combos.reserveCapacity(pointCount)
        for (name, values) in axes { combos = combos.flatMap { c in values.map { c + [(name, $0)] } } }
        if let n = zipped.first?.1.count {
            combos = combos.flatMap { c in (0..<n).map { i in c + zipped.map { ($0.0, $0.1[i]) } } }
        }
        let specs = task.parameters
        let fileParameters = specs.filter { if case .file = $0.kind { return true }; return false }.map(\.name)
        var contentHashes: [String: String] = [:]
        let points = try combos.enumerated().map { index, combo in
            let params = try Parameters(specs: specs, config: fixed + combo)   // validates every point up front
            let canonical = params.json.serialized(pretty: false)
            var inputs = ""
            for name in fileParameters {
                guard let path = params.optionalString(name) else { continue }
                if contentHashes[path] == nil { contentHashes[path] = try SweepSpec.contentHash(parameter: name, path: path) }
                inputs += "|\(name)=\(contentHashes[path]!)"
            }
            let id = String(format: "%016llx", stableHash(command.joined(separator: " ") + "|" + canonical + inputs + "|" + RunEnvironment.version))
            return SweepPoint(index: index, id: id, parameters: params, seed: mixWords([baseSeed, stableHash(id)]))
        }
        try SweepSpec.checkCheckpointOwnership(points)
        return points
    }

    /// FNV-1a (64 bit) of a file's bytes, read in blocks: a point's ID changes when its input data change.
    static func contentHash(parameter: String, path: String) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
              let handle = FileHandle(forReadingAtPath: path) else {
            throw SolvableError.invalidParameter(name: parameter, value: path, allowed: "the path of a readable regular file")
        }
        defer { try? handle.close() }
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty {
            for b in block { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        }
        return String(format: "%016llx", h)
    }

    /// A checkpoint path named in a spec belongs to one point: two points never share one (the second would
    /// overwrite and then delete the first's), and it never names an existing file that is not a Solvable
    /// checkpoint (a user's data would be overwritten and deleted). Points without one checkpoint in their own
    /// `OUT/checkpoints/<id>/` directory.
    static func checkCheckpointOwnership(_ points: [SweepPoint]) throws {
        var owner: [String: Int] = [:]
        for p in points {
            guard let path = p.parameters.optionalString("checkpoint"), path != "none" else { continue }
            let key = URL(fileURLWithPath: path).standardizedFileURL.path
            if let first = owner[key] {
                throw SolvableError.invalidParameter(name: "checkpoint", value: "\(path) (points \(first) and \(p.index))",
                                                     allowed: "one checkpoint file per point: vary it with the other axes in [grid]/[zip], or leave it out (each point then checkpoints in OUT/checkpoints/<id>/)")
            }
            owner[key] = p.index
            if FileManager.default.fileExists(atPath: path), !Checkpoint.isCheckpoint(atPath: path) {
                throw SolvableError.invalidParameter(name: "checkpoint", value: path,
                                                     allowed: "a new path or an existing Solvable checkpoint (this file is not one; Solvable never overwrites it)")
            }
        }
    }
}

/// One point of a sweep: its validated parameters, a stable ID (hash of command, canonical parameters, input file
/// contents and Solvable version) and its seed derived from (base seed, ID), independent of sharding.
public struct SweepPoint: Sendable {
    public let index: Int
    public let id: String
    public let parameters: Parameters
    public let seed: UInt64

    /// Shard (0-based) that runs this point when the sweep is split into `count` shards (round robin, so
    /// neighbouring, similarly expensive points spread evenly). A shard is an array index of the Slurm script.
    public func shard(of count: Int) -> Int { index % count }
}
