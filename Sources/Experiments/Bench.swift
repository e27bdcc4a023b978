import Foundation
import NumericalCore

/// One benchmark case: Solvable's side of a side-by-side timing against a numpy port of the same algorithm
/// (`bench/cases/<name>.py`). `run` receives the case's parameters (the same JSON the numpy side gets) and returns
/// the answer to compare, the time of the computation alone (no start-up, no I/O) and its flop count if meaningful.
public struct BenchCase: Sendable {
    public let name: String
    public let summary: String
    public let run: @Sendable (JSONValue) throws -> BenchResult

    public init(name: String, summary: String, run: @escaping @Sendable (JSONValue) throws -> BenchResult) {
        self.name = name
        self.summary = summary
        self.run = run
    }
}

public struct BenchResult: Sendable {
    /// Numbers the numpy side must reproduce (within the case's tolerance).
    public var answer: JSONValue
    public var seconds: Double
    /// Floating-point operations of the timed computation, when meaningful (GFLOP/s is reported).
    public var flops: Double?
    /// e.g. "P=20 T=100 L=3".
    public var size: String

    public init(answer: JSONValue, seconds: Double, flops: Double? = nil, size: String) {
        self.answer = answer
        self.seconds = seconds
        self.flops = flops
        self.size = size
    }

    public var json: JSONValue {
        .object([("answer", answer), ("seconds", .number(seconds)), ("flops", flops.map { .number($0) } ?? .null), ("size", .string(size))])
    }
}

extension Registry {
    public static var benchCases: [BenchCase] {
        FeaturesBench.cases + MemoryBench.cases + DMFTBench.cases + FluctuationsBench.cases + CNNBench.cases
    }
}

extension JSONValue {
    /// Reads a number from a parameter object with a default (benchmark parameters are trusted JSON from bench/).
    public func number(_ key: String, default d: Double) -> Double { self[key]?.doubleValue ?? d }
    public func integer(_ key: String, default d: Int) -> Int { self[key]?.doubleValue.map { Int($0) } ?? d }
}
