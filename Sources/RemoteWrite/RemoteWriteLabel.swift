/// One label of a series as sent in a remote-write request.
public struct RemoteWriteLabel: Hashable, Sendable, CustomStringConvertible {
    /// Label name, such as `__name__` or `instance`.
    public var name: String
    /// Label value; a label with an empty value is not sent.
    public var value: String

    /// Creates a label.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(self.name)=\"\(self.value)\"" }
}
