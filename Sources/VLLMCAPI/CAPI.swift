#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VLLMJinja

// The C ABI of the Python binding (python/swift_vllm, through ctypes). Kept narrow: an engine is
// an opaque handle, every request and answer is UTF-8 JSON text, and `svllm_engine_call` names
// the operation, so new operations add no symbols. Returned strings are malloc'd and freed with
// `svllm_free`. On failure a function returns NULL and sets `*error` to
// {"type": PYTHON_EXCEPTION_NAME, "message": TEXT}. `svllm_abi_version` changes whenever any of
// this changes incompatibly; the Python side refuses a library of another version.

/// The ABI's version.
@_cdecl("svllm_abi_version")
public func svllm_abi_version() -> Int32 { 1 }

@_cdecl("svllm_free")
public func svllm_free(_ text: UnsafeMutablePointer<CChar>?) { free(text) }

/// Loads a model: `request` is {"argv": [engine flags as `vllm serve` takes them], "seed": N?}.
@_cdecl("svllm_engine_new")
public func svllm_engine_new(_ request: UnsafePointer<CChar>,
                             _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> UnsafeMutableRawPointer? {
    let text = String(cString: request)
    guard let engine = answer(error, { try EngineHandle(json: text) }) else { return nil }
    return Unmanaged.passRetained(engine).toOpaque()
}

@_cdecl("svllm_engine_free")
public func svllm_engine_free(_ handle: UnsafeMutableRawPointer) {
    Unmanaged<EngineHandle>.fromOpaque(handle).release()
}

/// Runs `method` (see `EngineHandle.call`) with the JSON `request`; returns its JSON answer.
/// Calls on one handle run one at a time.
@_cdecl("svllm_engine_call")
public func svllm_engine_call(_ handle: UnsafeMutableRawPointer, _ method: UnsafePointer<CChar>,
                              _ request: UnsafePointer<CChar>,
                              _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> UnsafeMutablePointer<CChar>? {
    let engine = Unmanaged<EngineHandle>.fromOpaque(handle).takeUnretainedValue()
    let name = String(cString: method), text = String(cString: request)
    let result: String? = answer(error, { try engine.call(name, text) })
    return result.flatMap { strdup($0) }
}

/// Stops the call running on `handle` (from another thread): it fails with KeyboardInterrupt.
@_cdecl("svllm_engine_cancel")
public func svllm_engine_cancel(_ handle: UnsafeMutableRawPointer) {
    Unmanaged<EngineHandle>.fromOpaque(handle).takeUnretainedValue().llm.cancel()
}

/// Requests of the running call finished so far (read from another thread for progress bars).
@_cdecl("svllm_engine_progress")
public func svllm_engine_progress(_ handle: UnsafeMutableRawPointer) -> Int64 {
    Int64(Unmanaged<EngineHandle>.fromOpaque(handle).takeUnretainedValue().llm.finishedRequests)
}

/// Checks a SamplingParams JSON object as the engine will (without a vocabulary); returns "{}".
@_cdecl("svllm_check_sampling_params")
public func svllm_check_sampling_params(_ request: UnsafePointer<CChar>,
                                        _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> UnsafeMutablePointer<CChar>? {
    let text = String(cString: request)
    let result: String? = answer(error, {
        try OfflineRequests.samplingParams(text).validate()
        return "{}"
    })
    return result.flatMap { strdup($0) }
}

private func answer<T>(_ errorOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, _ body: () throws -> T) -> T? {
    do {
        return try body()
    } catch {
        let e = BindingError(error)
        errorOut.pointee = strdup(OrderedJSON.object([("type", .string(e.type)), ("message", .string(e.message))]).text())
        return nil
    }
}
