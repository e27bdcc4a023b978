import Testing
import NumericalCore

/// The one memory policy: 80 % of physical memory or of the Slurm allocation, an explicit override, saturating
/// byte arithmetic, and a refusal that carries the estimate.
@Suite struct MemoryBudgetTests {
    let gib = 1 << 30

    @Test func budgetFollowsPhysicalMemorySlurmAndOverride() {
        let phys = UInt64(64) << 30
        #expect(MemoryBudget.budget(environment: [:], physical: phys) == 64 * gib / 10 * 8)
        // Slurm: --mem=16G gives SLURM_MEM_PER_NODE=16384 (MiB); --mem-per-cpu=2G with 4 cpus per task
        #expect(MemoryBudget.budget(environment: ["SLURM_MEM_PER_NODE": "16384"], physical: phys) == 16 * gib / 10 * 8)
        #expect(MemoryBudget.budget(environment: ["SLURM_MEM_PER_CPU": "2048", "SLURM_CPUS_PER_TASK": "4"], physical: phys) == 8 * gib / 10 * 8)
        // an allocation larger than the machine does not raise the budget
        #expect(MemoryBudget.budget(environment: ["SLURM_MEM_PER_NODE": "1048576"], physical: phys) == 64 * gib / 10 * 8)
        #expect(MemoryBudget.budget(environment: ["SOLVABLE_MEMORY_LIMIT": "1.5G", "SLURM_MEM_PER_NODE": "16"], physical: phys) == 3 * gib / 2)
        #expect(MemoryBudget.budget(environment: ["SOLVABLE_MEMORY_LIMIT": "4096"], physical: phys) == 4096)
        // malformed values are ignored
        #expect(MemoryBudget.budget(environment: ["SOLVABLE_MEMORY_LIMIT": "lots", "SLURM_MEM_PER_NODE": "-1"], physical: phys) == 64 * gib / 10 * 8)
    }

    @Test func arithmeticSaturates() {
        #expect(MemoryBudget.product(8, 1000, 1000) == 8_000_000)
        #expect(MemoryBudget.product(8, Int.max / 4, 5) == Int.max)
        #expect(MemoryBudget.product(8, -3) == 0)
        #expect(MemoryBudget.sum(Int.max - 1, 5) == Int.max)
        #expect(MemoryBudget.sum(1, 2, 3) == 6)
        #expect(formatBytes(Int.max) == "8 EiB or more")
    }

    @Test func refusalCarriesTheEstimate() {
        do { try MemoryBudget.check(2048, cap: 1024, hint: "reduce n"); Issue.record("accepted") }
        catch let SolvableError.insufficientMemory(needed, available, hint) {
            #expect(needed == 2048 && available == 1024 && hint == "reduce n")
            #expect(SolvableError.insufficientMemory(needed: needed, available: available, hint: hint).exitCode == 2)
        } catch { Issue.record("wrong error \(error)") }
        #expect(throws: Never.self) { try MemoryBudget.check(1024, cap: 1024, hint: "") }
    }
}
