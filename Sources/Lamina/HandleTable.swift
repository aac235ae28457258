import LaminaCore
import Synchronization

/// Live handles of one object type. A handle is the object's address; looking it up here first turns
/// a freed, foreign or garbage pointer into LAMINA_ERR_INVALID_ARGUMENT instead of a crash, and makes
/// a double free a no-op.
final class HandleTable<Object: AnyObject>: Sendable {
    private let live = Mutex<[UInt: Object]>([:])
    private let typeName: String

    init(_ typeName: String) { self.typeName = typeName }

    func insert(_ object: Object) -> OpaquePointer {
        let pointer = OpaquePointer(Unmanaged.passUnretained(object).toOpaque())
        live.withLock { $0[UInt(bitPattern: pointer)] = object }
        return pointer
    }

    /// The body of every `lamina_X_create`: checks `out`, builds the object (parameter validation
    /// included) and stores its handle in *out. On failure *out is not written.
    func create(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ make: () throws -> Object) -> Int32 {
        boundary {
            let result = try Check.output(out, "out")
            result.pointee = insert(try make())
        }
    }

    func get(_ pointer: OpaquePointer?, _ name: String = "model") throws -> Object {
        guard let pointer else { throw LaminaError.invalid("\(name) is NULL; expected a \(typeName) handle") }
        guard let object = live.withLock({ $0[UInt(bitPattern: pointer)] }) else {
            throw LaminaError.invalid("\(name) is not a live \(typeName) handle (already freed, or never created)")
        }
        return object
    }

    func remove(_ pointer: OpaquePointer?) {
        guard let pointer else { return }
        _ = live.withLock { $0.removeValue(forKey: UInt(bitPattern: pointer)) }
    }
}
