/// The one error type of the core. `kind` maps one-to-one onto the C API's `lamina_status` values;
/// `message` names the argument, the value received and what was expected.
package struct LaminaError: Error, CustomStringConvertible, Sendable {
    package enum Kind: Int32, Sendable {
        case invalidArgument = 1
        case shapeMismatch = 2
        case nonFinite = 3
        case io = 4
        case format = 5
        case outOfMemory = 6
        case cancelled = 7
        case `internal` = 8
    }

    package let kind: Kind
    package let message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }

    package static func invalid(_ message: String) -> LaminaError { LaminaError(.invalidArgument, message) }
    package static func shape(_ message: String) -> LaminaError { LaminaError(.shapeMismatch, message) }
}
