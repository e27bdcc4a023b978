import Solvable

/// libFuzzer entry: feed arbitrary bytes to the TOML and JSON readers and to every command's parameter validation.
/// Any SolvableError is an accepted rejection; a crash, hang or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for parsed in [try? TOML.parse(text), try? JSONValue.parse(json: text)] {
        guard case .object(let kv)? = parsed else { continue }
        for task in Registry.tasks { _ = try? Parameters(specs: task.parameters, config: kv) }
        _ = try? SweepSpec(config: kv)
    }
    let flags = text.split(separator: " ").map(String.init)
    for task in Registry.tasks {
        if let f = try? parseParameterFlags(flags, specs: task.parameters) { _ = try? Parameters(specs: task.parameters, overrides: f) }
    }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

/// SwiftPM links executables with `main` renamed to `<Target>_main`; hand control to libFuzzer's driver.
@_cdecl("ConfigFuzzer_main")
public func configFuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v) { data, size in fuzz(data, size) }
}
