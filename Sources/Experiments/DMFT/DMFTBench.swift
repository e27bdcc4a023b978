/// Benchmark cases of the DMFT model (Solvable's side; the numpy side is in `bench/cases/`).
public enum DMFTBench {
    public static let cases: [BenchCase] = []
}
