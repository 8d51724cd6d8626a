/// A credential or certificate that could not be used: a file that cannot be read, PEM that does
/// not parse. It names the file and the component, never the secret.
public struct CredentialError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Who needed it: `prometheus.scrape.nodes`, `endpoint prometheus.remote_write.default.0`, `cluster`.
    public var owner: String
    /// What went wrong, naming the attribute and the file.
    public var message: String

    public init(owner: String, message: String) {
        self.owner = owner
        self.message = message
    }

    public var description: String { "\(owner): \(message)" }
}
