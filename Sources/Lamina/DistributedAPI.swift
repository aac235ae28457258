import LaminaCore
import CLaminaABI

// C boundary of data-parallel SAE training (include/lamina.h, "Distributed training"): a C reducer
// callback wrapped as the core's SAEReducer.

final class CReducer: SAEReducer {
    let fn: lamina_reduce_fn
    let user: UnsafeMutableRawPointer?
    init(fn: lamina_reduce_fn, user: UnsafeMutableRawPointer?) { self.fn = fn; self.user = user }

    func allreduce(_ buffer: UnsafeMutableRawPointer, count: Int, double: Bool) throws {
        let status = fn(buffer, Int64(count), double ? LAMINA_DTYPE_FLOAT64 : LAMINA_DTYPE_FLOAT32, user)
        if status != LAMINA_OK {
            let kind = LaminaError.Kind(rawValue: status) ?? .internal
            throw LaminaError(kind, "the reducer returned status \(status) on a buffer of \(count) \(double ? "float64" : "float32") values; training stopped (the model keeps the last completed step)")
        }
    }
}

@_cdecl("lamina_sae_set_reducer")
public func lamina_sae_set_reducer(_ sae: OpaquePointer?, _ fn: lamina_reduce_fn?, _ user: UnsafeMutableRawPointer?,
                                   _ rank: Int32, _ worldSize: Int32) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        guard let fn else {
            if rank != 0 || worldSize != 1 {
                throw LaminaError.invalid("fn is NULL with rank = \(rank), world_size = \(worldSize); expected rank 0 and world_size 1 to clear the reducer")
            }
            h.trainer.distribution = nil
            return
        }
        if worldSize < 1 { throw LaminaError.invalid("world_size is \(worldSize); expected >= 1") }
        if rank < 0 || rank >= worldSize { throw LaminaError.invalid("rank is \(rank); expected 0 <= rank < world_size = \(worldSize)") }
        h.trainer.distribution = SAEDistribution(reducer: CReducer(fn: fn, user: user), rank: Int(rank), worldSize: Int(worldSize))
    }
}

@_cdecl("lamina_sae_set_shuffle")
public func lamina_sae_set_shuffle(_ sae: OpaquePointer?, _ shuffle: Int32) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        if shuffle != 0 && shuffle != 1 { throw LaminaError.invalid("shuffle is \(shuffle); expected 0 or 1") }
        h.trainer.shuffle = shuffle == 1
    }
}

@_cdecl("lamina_sae_set_reduce_mode")
public func lamina_sae_set_reduce_mode(_ sae: OpaquePointer?, _ mode: Int32) -> Int32 {
    boundary {
        let h = try saeHandles.get(sae, "sae")
        guard let m = SAEReduceMode(rawValue: mode) else {
            throw LaminaError.invalid("mode is \(mode); expected LAMINA_SAE_REDUCE_DENSE (0) or LAMINA_SAE_REDUCE_SPARSE_ROWS (1)")
        }
        h.trainer.reduceMode = m
    }
}
