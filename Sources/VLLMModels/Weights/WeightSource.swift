import VLLMCompute

/// What a tensor is for, named once for every file layout.
enum TensorRole {
    case embedding, outputNorm, output, ropeFreqs, ropeFactorsShort, ropeFactorsLong
    case attnNorm, q, k, v, o, qBias, kBias, vBias, qNorm, kNorm, ffnNorm, gate, up, down
    /// Fused Q/K/V rows and gate/up rows (Phi-3).
    case qkv, gateUp
    /// Gemma 2/3's norms: after attention, before the MLP (the Llama ffnNorm's place), after it.
    case postAttnNorm, preFFNNorm, postFFNNorm
    /// A mixture of experts: the router, and every expert's gate, up and down matrices stacked
    /// (GGUF's `*_exps`: expert after expert, as one matrix of experts × rows).
    case router, expertsGate, expertsUp, expertsDown
    /// Qwen2-MoE's shared expert and its 1 × hidden sigmoid gate.
    case sharedGate, sharedUp, sharedDown, sharedExpertGate
    /// gpt-oss: the attention output's bias, each head's sink logit, the router's bias and the
    /// experts' biases (stacked as experts × size, like their matrices).
    case oBias, sinks, routerBias, expertsGateBias, expertsUpBias, expertsDownBias
}

/// One tensor of a weight file, used in place: `rows` × `columns` elements of `type` (a vector
/// is one row).
struct SourceTensor {
    let type: GGMLType
    let rows: Int
    let columns: Int
    let data: UnsafeRawPointer
}

/// Where a model's weights come from: a GGUF file or Hugging Face safetensors (one file or
/// shards). Each names tensors its own way; the decoder asks by role.
protocol WeightSource: Sendable {
    /// The file or directory errors name.
    var path: String { get }
    /// Bytes of weights mapped (for the KV-cache budget and load reports).
    var byteCount: Int { get }
    func name(_ role: TensorRole, layer: Int) -> String
    /// The name of expert `expert`'s matrix (`role`: .gate, .up or .down) in layer `layer` where
    /// experts are stored one by one; nil where they are stacked (`.expertsGate`, …).
    func expertName(_ role: TensorRole, layer: Int, expert: Int) -> String?
    /// The tensor called `name`, or nil when the source has none; a tensor whose type or rank
    /// the engine cannot use throws.
    func tensor(_ name: String) throws(ModelLoadError) -> SourceTensor?
    /// Drops the resident pages of `bytes` bytes at `start` (after the data was copied elsewhere).
    func releasePages(_ start: UnsafeRawPointer, byteCount bytes: Int)
}

extension GGUFFile: WeightSource {
    public var byteCount: Int { file.count }

    /// llama.cpp's tensor names (gguf-py `MODEL_TENSORS`).
    func name(_ role: TensorRole, layer i: Int) -> String {
        switch role {
        case .embedding: "token_embd.weight"
        case .outputNorm: "output_norm.weight"
        case .output: "output.weight"
        case .ropeFreqs: "rope_freqs.weight"
        case .ropeFactorsShort: "rope_factors_short.weight"
        case .ropeFactorsLong: "rope_factors_long.weight"
        case .attnNorm: "blk.\(i).attn_norm.weight"
        case .q: "blk.\(i).attn_q.weight"
        case .k: "blk.\(i).attn_k.weight"
        case .v: "blk.\(i).attn_v.weight"
        case .o: "blk.\(i).attn_output.weight"
        case .qBias: "blk.\(i).attn_q.bias"
        case .kBias: "blk.\(i).attn_k.bias"
        case .vBias: "blk.\(i).attn_v.bias"
        case .qNorm: "blk.\(i).attn_q_norm.weight"
        case .kNorm: "blk.\(i).attn_k_norm.weight"
        // gpt-oss files name the pre-MLP norm after the transformers checkpoint's post-attention one.
        case .ffnNorm where architecture == "gpt-oss": "blk.\(i).post_attention_norm.weight"
        case .ffnNorm, .preFFNNorm: "blk.\(i).ffn_norm.weight"
        case .postAttnNorm: "blk.\(i).post_attention_norm.weight"
        case .postFFNNorm: "blk.\(i).post_ffw_norm.weight"
        case .qkv: "blk.\(i).attn_qkv.weight"
        case .gate: "blk.\(i).ffn_gate.weight"
        // Phi-3 files keep gate and up fused in ffn_up (2 × intermediate rows, gate first).
        case .up, .gateUp: "blk.\(i).ffn_up.weight"
        case .down: "blk.\(i).ffn_down.weight"
        case .router: "blk.\(i).ffn_gate_inp.weight"
        case .expertsGate: "blk.\(i).ffn_gate_exps.weight"
        case .expertsUp: "blk.\(i).ffn_up_exps.weight"
        case .expertsDown: "blk.\(i).ffn_down_exps.weight"
        case .sharedGate: "blk.\(i).ffn_gate_shexp.weight"
        case .sharedUp: "blk.\(i).ffn_up_shexp.weight"
        case .sharedDown: "blk.\(i).ffn_down_shexp.weight"
        case .sharedExpertGate: "blk.\(i).ffn_gate_inp_shexp.weight"
        case .oBias: "blk.\(i).attn_output.bias"
        case .sinks: "blk.\(i).attn_sinks.weight"
        case .routerBias: "blk.\(i).ffn_gate_inp.bias"
        case .expertsGateBias: "blk.\(i).ffn_gate_exps.bias"
        case .expertsUpBias: "blk.\(i).ffn_up_exps.bias"
        case .expertsDownBias: "blk.\(i).ffn_down_exps.bias"
        }
    }

    func expertName(_ role: TensorRole, layer: Int, expert: Int) -> String? { nil }

    private var architecture: String? { metadata["general.architecture"]?.string }

    /// GGUF shapes list the innermost dimension first: a matrix is [columns, rows].
    func tensor(_ name: String) throws(ModelLoadError) -> SourceTensor? {
        guard let t = tensor(named: name) else { return nil }
        switch t.shape.count {
        case 1: return SourceTensor(type: t.type, rows: 1, columns: t.shape[0], data: data(of: t))
        case 2: return SourceTensor(type: t.type, rows: t.shape[1], columns: t.shape[0], data: data(of: t))
        // Stacked expert matrices: [columns, rows, experts] as experts × rows rows.
        case 3 where t.shape[2] > 0 && t.shape[1] <= Int.max / t.shape[2]:
            return SourceTensor(type: t.type, rows: t.shape[1] * t.shape[2], columns: t.shape[0], data: data(of: t))
        default: throw .corrupt(path: path, reason: "tensor \(name) has shape \(t.shape), expected a matrix or a vector")
        }
    }

    func releasePages(_ start: UnsafeRawPointer, byteCount bytes: Int) { file.releasePages(start, byteCount: bytes) }
}
