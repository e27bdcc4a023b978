import LinearAlgebra

/// A column-major matrix that grows by whole rows and columns (new entries zero), for factors whose width is found
/// while marching in time. Element (i, j) is at `storage[i + j * ld]`; `ld` >= `rows` is the row capacity, so
/// blocks can be handed to BLAS with leading dimension `ld`.
struct GrowingMatrix {
    private(set) var rows: Int
    private(set) var cols: Int
    private(set) var ld: Int
    private var columnCapacity: Int
    var storage: [Double]

    init(rows: Int, cols: Int = 0, rowCapacity: Int? = nil, columnCapacity: Int = 8) {
        self.rows = rows
        self.cols = cols
        ld = max(1, rowCapacity ?? rows, rows)
        self.columnCapacity = max(1, columnCapacity, cols)
        storage = [Double](repeating: 0, count: ld * self.columnCapacity)
    }

    @inline(__always) subscript(i: Int, j: Int) -> Double {
        get { storage[i + j * ld] }
        set { storage[i + j * ld] = newValue }
    }

    /// Appends `k` zero columns.
    mutating func appendColumns(_ k: Int = 1) {
        if cols + k > columnCapacity {
            columnCapacity = max(2 * columnCapacity, cols + k)
            storage += [Double](repeating: 0, count: ld * columnCapacity - storage.count)
        }
        cols += k
    }

    /// Appends `k` zero rows.
    mutating func appendRows(_ k: Int = 1) {
        if rows + k > ld {
            let newLd = max(2 * ld, rows + k)
            var s = [Double](repeating: 0, count: newLd * columnCapacity)
            for j in 0..<cols { for i in 0..<rows { s[i + j * newLd] = storage[i + j * ld] } }
            storage = s
            ld = newLd
        }
        rows += k
    }

    /// Column j (the first `rows` entries).
    func column(_ j: Int) -> [Double] { Array(storage[(j * ld)..<(j * ld + rows)]) }

    /// Sets column j to `v` (at most `rows` entries).
    mutating func setColumn(_ j: Int, _ v: [Double]) {
        for i in 0..<min(rows, v.count) { storage[i + j * ld] = v[i] }
    }

    /// A compact copy of rows `r` and columns `c`.
    func matrix(rows r: Range<Int>? = nil, cols c: Range<Int>? = nil) -> Matrix {
        let rr = r ?? 0..<rows, cc = c ?? 0..<cols
        var m = Matrix(rows: rr.count, cols: cc.count)
        storage.withUnsafeBufferPointer { s in
            m.storage.withUnsafeMutableBufferPointer { o in
                for (jj, j) in cc.enumerated() {
                    for (ii, i) in rr.enumerated() { o[ii + jj * rr.count] = s[i + j * ld] }
                }
            }
        }
        return m
    }
}
