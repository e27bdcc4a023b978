/// A failure inside BLAS/LAPACK or a shape error at a wrapper's boundary.
///
/// LAPACK reports `info < 0` for an illegal argument and `info > 0` for a numerical failure whose meaning
/// depends on the routine; `reason` spells it out.
public enum LinearAlgebraError: Error, CustomStringConvertible, Equatable {
    case lapack(routine: String, info: Int, reason: String)
    case shapeMismatch(routine: String, detail: String)

    public var description: String {
        switch self {
        case let .lapack(routine, info, reason): return "\(routine) failed (info = \(info)): \(reason)"
        case let .shapeMismatch(routine, detail): return "\(routine): shape mismatch: \(detail)"
        }
    }

    /// Builds the error for a LAPACK `info` code, or returns nil when `info == 0`.
    static func check(_ routine: String, _ info: Int32, positive: (Int) -> String) throws {
        if info == 0 { return }
        if info < 0 {
            throw LinearAlgebraError.lapack(routine: routine, info: Int(info),
                                            reason: "argument \(-info) had an illegal value")
        }
        throw LinearAlgebraError.lapack(routine: routine, info: Int(info), reason: positive(Int(info)))
    }
}
