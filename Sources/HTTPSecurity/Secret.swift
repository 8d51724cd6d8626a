/// A credential: a password, a token, a private key. It never prints: logs, `/metrics`, the UI,
/// the config API and error messages see `(secret)`, as Alloy shows its `secret` values. Nor does
/// reflection (`dump`, `Mirror`) see inside it.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The credential itself; read it only to put it on the wire.
    public let revealed: String

    public init(_ value: String) { self.revealed = value }

    public var description: String { "(secret)" }
    public var debugDescription: String { "(secret)" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// Where a credential comes from: written in the configuration, or a file read again whenever it
/// changes (a rotated service-account token, a renewed password).
public enum SecretSource: Sendable, Hashable, CustomStringConvertible {
    case inline(Secret)
    case file(String)

    public var description: String {
        switch self {
        case .inline: "(secret)"
        case .file(let path): "file \(path)"
        }
    }
}

/// Where PEM text comes from: a file, read again whenever it changes, or the configuration.
public enum PEMSource: Sendable, Hashable, CustomStringConvertible {
    case file(String)
    case inline(Secret)

    public var description: String {
        switch self {
        case .file(let path): "file \(path)"
        case .inline: "inline PEM"
        }
    }
}
