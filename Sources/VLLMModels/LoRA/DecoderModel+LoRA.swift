import CKernels
import VLLMCompute

/// Batched mixed-adapter LoRA (the idea of Punica's SGMV): after a base matmul y = x·Wᵀ over
/// the whole batch, each row whose sequence has an adapter gets y += (x·Aᵀ)·(scale·B)ᵀ with
/// its own adapter's A and B: shrink to `rank` values, then expand back. Rows without an
/// adapter are never written, so their outputs stay bit-identical to the base model's.
extension DecoderModel {
    /// One adapted row of a chunk and its adapter.
    struct LoRARow {
        let row: Int
        let adapter: LoRAAdapter
    }

    /// One product to correct: the base matmul of `target` read `x` (stride `inputs`) and wrote
    /// `y` (stride `outputs`).
    struct LoRAProduct {
        let target: LoRATarget
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
    }

    /// The chunk's rows that belong to sequences with an adapter, in row order (rows of one
    /// sequence are consecutive, so rows sharing an adapter sit in runs and read its A and B
    /// while they are in cache).
    static func loraRows(_ chunk: BatchChunk, inputs: [SequenceInput]) -> [LoRARow] {
        var rows: [LoRARow] = [], row = 0
        for piece in chunk.pieces {
            if let adapter = inputs[piece.input].lora {
                for r in row ..< row + piece.count { rows.append(LoRARow(row: r, adapter: adapter)) }
            }
            row += piece.count
        }
        return rows
    }

    /// Adds every adapted row's correction to each product of layer `layer`, split over the
    /// pool by rows. Modules an adapter does not target are skipped for its rows.
    func addLoRA(_ rows: [LoRARow], layer: Int, _ products: [LoRAProduct]) {
        guard !rows.isEmpty else { return }
        forRows(rows.count) { range in
            for item in rows[range] {
                for p in products {
                    guard let w = item.adapter.layers[layer][p.target] else { continue }
                    Self.applyLoRA(w, x: p.x + item.row * w.inputs, y: p.y + item.row * w.outputs)
                }
            }
        }
    }

    /// y += (x·Aᵀ)·(scale·B)ᵀ for one row: `rank` dot products, then `rank` axpys.
    static func applyLoRA(_ w: LoRAWeights, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: w.rank) { t in
            w.a.withUnsafeBufferPointer { a in
                for k in 0..<w.rank { t[k] = vk_dot_f32(x, a.baseAddress! + k * w.inputs, Int64(w.inputs)) }
            }
            w.scaledBT.withUnsafeBufferPointer { bt in
                for k in 0..<w.rank { vk_axpy_f32(t[k], bt.baseAddress! + k * w.outputs, y, Int64(w.outputs)) }
            }
        }
    }
}
