/// One entry of the model registry: the names an architecture goes by in Hugging Face
/// checkpoints (`architectures`) and GGUF files (`general.architecture`), and what it switches on
/// beyond the shared decoder (Llama's: RMSNorm, grouped-query attention with RoPE, gated SiLU MLP).
public struct ModelArchitecture: Sendable {
    /// The Hugging Face class name, e.g. "Qwen2ForCausalLM".
    public let name: String
    /// The GGUF `general.architecture` value llama.cpp's converter writes for it, if it has its own.
    public let ggufName: String?
    /// How the converter leaves Q/K rows in this architecture's GGUF files.
    let ggufRopeStyle: RopeStyle
    /// Reads the architecture's own config.json keys (biases, norms, windows).
    let configureHF: @Sendable (inout ModelConfig, HFConfigJSON) throws(ModelLoadError) -> Void
    /// Sets what its GGUF files leave implicit or keep under their own keys.
    var configureGGUF: @Sendable (inout ModelConfig, GGUFFile) throws(ModelLoadError) -> Void = { _, _ in }
}
