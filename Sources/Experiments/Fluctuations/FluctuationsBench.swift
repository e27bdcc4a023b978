/// Benchmark cases of the Fluctuations model (Solvable's side; the numpy side is in `bench/cases/`).
public enum FluctuationsBench {
    public static let cases: [BenchCase] = []
}
