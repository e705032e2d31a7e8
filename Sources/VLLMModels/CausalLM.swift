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
    /// The part of the engine's KV cache layout this process allocates (a pipeline stage: its
    /// layers' slots).
    func kvCacheLayout(_ engineLayout: KVCacheLayout) -> KVCacheLayout
}

extension CausalLM {
    public func kvCacheLayout(_ engineLayout: KVCacheLayout) -> KVCacheLayout { engineLayout }
}

/// A model split into pipeline stages over several processes: a step's forward starts on the
/// first stage (this process) and its logits arrive later from the last, so the engine keeps
/// `pipelineDepth` steps in flight (vLLM's batch queue) to keep every stage busy.
public protocol PipelinedCausalLM: CausalLM {
    /// Steps in flight that keep the stages busy: the number of stages.
    var pipelineDepth: Int { get }
    /// Runs this process's stage of a step and passes it on; returns once this stage is done.
    func startForward(_ inputs: [SequenceInput], kv: PagedKVCache)
    /// The logits of the oldest step started and not yet finished (steps finish in order).
    func finishForward() -> Logits
}
