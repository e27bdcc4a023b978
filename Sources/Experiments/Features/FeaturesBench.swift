/// Benchmark cases of the Features model (Solvable's side; the numpy side is in `bench/cases/`).
public enum FeaturesBench {
    public static let cases: [BenchCase] = []
}
