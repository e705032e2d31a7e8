import VLLMCompute

/// What the engine needs of a model (vLLM's model interface): a forward pass over one flat
/// batch mixing prefill chunks and decodes of different sequences, each reading and writing the
/// paged KV cache through its block table; the shape the KV cache must have; LoRA adapters ride
/// on the inputs (`SequenceInput.lora`).
public protocol CausalLM: AnyObject, Sendable {
    var config: ModelConfig { get }
    /// The compute threads the model runs on.
    var pool: ThreadPool { get }
    /// Bytes of weights mapped or held (for the KV-cache memory budget).
    var weightBytes: Int { get }
    /// Next-token logits of each input that asks for them, in input order.
    func forward(_ inputs: [SequenceInput], kv: PagedKVCache) -> Logits
}
