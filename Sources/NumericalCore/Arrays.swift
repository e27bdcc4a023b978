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
}
