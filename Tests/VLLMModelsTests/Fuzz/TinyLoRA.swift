import Foundation

/// A valid PEFT LoRA adapter for `TinyLlama`: rank 2 on q_proj and v_proj of both layers, F32
/// weights, as PEFT's `save_pretrained` writes them (adapter_config.json + adapter_model.safetensors).
enum TinyLoRA {
    static let rank = 2

    static let config = """
        {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "lora_dropout": 0.0, "bias": "none",
         "target_modules": ["q_proj", "v_proj"], "use_rslora": false, "use_dora": false,
         "fan_in_fan_out": false, "modules_to_save": null, "rank_pattern": {}, "alpha_pattern": {},
         "base_model_name_or_path": "tiny-llama"}
        """

    static func weights() -> SafetensorsWriter {
        var w = SafetensorsWriter()
        w.metadata = ["format": "pt"]
        let h = TinyLlama.hidden
        for layer in 0..<TinyLlama.layers {
            for (module, out) in [("q_proj", TinyLlama.heads * TinyLlama.headDim), ("v_proj", TinyLlama.kvHeads * TinyLlama.headDim)] {
                let p = "base_model.model.model.layers.\(layer).self_attn.\(module)."
                let a = (0..<rank * h).map { Float($0 % 7) * 0.01 }, b = (0..<out * rank).map { Float($0 % 5) * -0.02 }
                w.tensors.append(.init(name: p + "lora_A.weight", dtype: "F32", shape: [rank, h], data: SafetensorsWriter.f32(a)))
                w.tensors.append(.init(name: p + "lora_B.weight", dtype: "F32", shape: [out, rank], data: SafetensorsWriter.f32(b)))
            }
        }
        return w
    }

    /// Writes the adapter into `dir` (which must exist).
    static func write(config: [UInt8] = Array(config.utf8), weights: [UInt8] = weights().bytes(), to dir: String) throws {
        try Data(config).write(to: URL(fileURLWithPath: dir + "/adapter_config.json"))
        try Data(weights).write(to: URL(fileURLWithPath: dir + "/adapter_model.safetensors"))
    }
}
