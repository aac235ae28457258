/// The one error type of the core. `kind` maps one-to-one onto the C API's `lamina_status` values;
/// `message` names the argument, the value received and what was expected.
public struct LaminaError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Int32, Sendable {
        case invalidArgument = 1
        case shapeMismatch = 2
        case nonFinite = 3
        case io = 4
        case format = 5
        case outOfMemory = 6
        case cancelled = 7
        case `internal` = 8
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public static func invalid(_ message: String) -> LaminaError { LaminaError(.invalidArgument, message) }
    public static func shape(_ message: String) -> LaminaError { LaminaError(.shapeMismatch, message) }
}
