/// Benchmark cases of the Memory model (Solvable's side; the numpy side is in `bench/cases/`).
public enum MemoryBench {
    public static let cases: [BenchCase] = []
}
