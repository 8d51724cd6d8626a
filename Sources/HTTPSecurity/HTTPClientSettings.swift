/// How a client connects and authenticates: the HTTP client blocks and attributes Alloy shares
/// between `prometheus.scrape` and a remote-write `endpoint`.
public struct HTTPClientSettings: Sendable, Hashable {
    /// `tls_config`; nil: the system's roots, no client certificate.
    public var tls: TLSSettings?
    /// `basic_auth`, `authorization`, `bearer_token` or `bearer_token_file`: at most one.
    public var authorization: HTTPAuthorization?
    /// `follow_redirects`: true by default.
    public var followRedirects = true
    /// `enable_http2`: true by default (negotiated over TLS).
    public var enableHTTP2 = true
    /// `proxy_url`: an HTTP proxy (`http://host:port`), CONNECT for `https` targets.
    public var proxyURL: String?

    public init(
        tls: TLSSettings? = nil, authorization: HTTPAuthorization? = nil, followRedirects: Bool = true,
        enableHTTP2: Bool = true, proxyURL: String? = nil
    ) {
        self.tls = tls
        self.authorization = authorization
        self.followRedirects = followRedirects
        self.enableHTTP2 = enableHTTP2
        self.proxyURL = proxyURL
    }
}

/// The credentials sent in the `Authorization` header.
public enum HTTPAuthorization: Sendable, Hashable, CustomStringConvertible {
    /// `basic_auth { username, password | password_file }`.
    case basic(username: String, password: SecretSource?)
    /// `authorization { type, credentials | credentials_file }`, and `bearer_token(_file)` as type
    /// `Bearer`.
    case credentials(type: String, credentials: SecretSource)

    public var description: String {
        switch self {
        case .basic(let username, let password):
            "basic_auth(\(username), \(password.map(\.description) ?? "no password"))"
        case .credentials(let type, let credentials): "authorization(\(type), \(credentials))"
        }
    }
}
