/// An n-dimensional array of Doubles in row-major (C) order, the form results take on their way to `.npy`
/// files (numpy's default order), JSON and heatmaps.
public struct NDArray: Sendable, Equatable {
    public let shape: [Int]
    public var data: [Double]

    public init(shape: [Int], data: [Double]) {
        precondition(shape.reduce(1, *) == data.count, "NDArray: shape \(shape) does not match \(data.count) elements")
        self.shape = shape
        self.data = data
    }

    /// A 1-D array.
    public init(_ v: [Double]) { self.init(shape: [v.count], data: v) }

    /// A 2-D array from row arrays.
    public init(rows: [[Double]]) {
        self.init(shape: [rows.count, rows.first?.count ?? 0], data: rows.flatMap { $0 })
    }

    public var count: Int { data.count }
    /// True when every element is finite.
    public var isFinite: Bool { data.allSatisfy(\.isFinite) }
}

/// A tidy table (named columns of equal length), the form curves take on their way to CSV.
public struct ResultTable: Sendable, Equatable {
    public enum Column: Sendable, Equatable {
        case numbers([Double])
        case strings([String])
        public var count: Int {
            switch self { case .numbers(let v): v.count; case .strings(let v): v.count }
        }
    }

    public private(set) var names: [String] = []
    public private(set) var columns: [Column] = []

    public init() {}

    public var rowCount: Int { columns.first?.count ?? 0 }

    /// Appends a numeric column (all columns must have the same length).
    public mutating func add(_ name: String, _ values: [Double]) {
        precondition(columns.isEmpty || values.count == rowCount, "column \(name) has \(values.count) rows, table has \(rowCount)")
        names.append(name); columns.append(.numbers(values))
    }

    /// Appends a text column.
    public mutating func add(_ name: String, strings values: [String]) {
        precondition(columns.isEmpty || values.count == rowCount, "column \(name) has \(values.count) rows, table has \(rowCount)")
        names.append(name); columns.append(.strings(values))
    }

    /// The numeric column called `name`.
    public func numbers(_ name: String) -> [Double]? {
        guard let i = names.firstIndex(of: name), case .numbers(let v) = columns[i] else { return nil }
        return v
    }

    /// Rows stacked from several tables with the same columns.
    public static func concatenate(_ tables: [ResultTable]) -> ResultTable {
        guard let first = tables.first else { return ResultTable() }
        var out = ResultTable()
        for (k, name) in first.names.enumerated() {
            switch first.columns[k] {
            case .numbers:
                out.add(name, tables.flatMap { t -> [Double] in
                    if case .numbers(let v) = t.columns[k] { return v }; return [] })
            case .strings:
                out.add(name, strings: tables.flatMap { t -> [String] in
                    if case .strings(let v) = t.columns[k] { return v }; return [] })
            }
        }
        return out
    }

    /// The first `rows` rows.
    public func prefix(rows: Int) -> ResultTable {
        var out = ResultTable()
        for (name, c) in zip(names, columns) {
            switch c {
            case .numbers(let v): out.add(name, Array(v.prefix(rows)))
            case .strings(let v): out.add(name, strings: Array(v.prefix(rows)))
            }
        }
        return out
    }

    /// The first row holding a NaN (or, unless `allowInfinity`, an infinite value) in any numeric column.
    public func firstNonFiniteRow(allowInfinity: Bool = false) -> Int? {
        var first: Int? = nil
        for c in columns {
            guard case .numbers(let v) = c else { continue }
            if let r = v.firstIndex(where: { $0.isNaN || (!allowInfinity && $0.isInfinite) }) { first = min(first ?? r, r) }
        }
        return first
    }
}

extension Int {
    /// The nearest representable Int to a computed Double: NaN → 0, beyond the range → `Int.min`/`Int.max`
    /// (`Int(x)` traps on those, which turns an extreme but valid input into a crash).
    public init(clamping x: Double) {
        if x.isNaN { self = 0 } else if x >= 9.223372036854775e18 { self = .max } else if x <= -9.223372036854775e18 { self = .min } else { self = Int(x) }
    }
}
