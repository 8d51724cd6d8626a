import HTTPSecurity

/// Where and how to send remote-write requests: one `endpoint` block of `prometheus.remote_write`.
public struct RemoteWriteEndpoint: Sendable {
    /// Name of the endpoint; also the name of its durable replay cursor.
    public var name: String
    /// The receiver's URL, such as `http://127.0.0.1:9090/api/v1/write`.
    public var url: String
    /// Extra headers; reserved ones (see ``reservedHeaders``) are rejected.
    public var headers: [String: String]
    /// TLS (`tls_config`), credentials (`basic_auth`, `authorization`, `bearer_token(_file)`),
    /// redirects, HTTP/2 and proxy. Credential and certificate files are read again whenever they
    /// change: the next request uses them.
    public var http: HTTPClientSettings
    /// Whether HTTP 401 and 403 are retried (agentd's default: the data is fine, the credentials
    /// are not, and a rotated credential file fixes them) rather than dropped (Prometheus).
    public var retryOnAuthorizationFailure: Bool
    /// Sent as `User-Agent`, as in `agentd/<version>`.
    public var userAgent: String
    /// Time allowed for one HTTP request, from connecting to reading the response.
    public var remoteTimeout: Duration
    /// Whether HTTP 429 is retried (as Alloy's `retry_on_http_429`) rather than dropped.
    public var retryOnHTTP429: Bool
    /// First retry delay; doubled on each retry.
    public var minBackoff: Duration
    /// Largest retry delay from backoff.
    public var maxBackoff: Duration
    /// Upper bound on a receiver's `Retry-After`, so a bogus value cannot stall the queue.
    public var maxRetryAfter: Duration

    /// Creates an endpoint with Prometheus's defaults (timeout 30 s, backoff 30 ms to 5 s).
    public init(
        name: String,
        url: String,
        headers: [String: String] = [:],
        http: HTTPClientSettings = HTTPClientSettings(),
        retryOnAuthorizationFailure: Bool = true,
        userAgent: String = "agentd/0.0.0",
        remoteTimeout: Duration = .seconds(30),
        retryOnHTTP429: Bool = true,
        minBackoff: Duration = .milliseconds(30),
        maxBackoff: Duration = .seconds(5),
        maxRetryAfter: Duration = .seconds(300)
    ) {
        self.name = name
        self.url = url
        self.headers = headers
        self.http = http
        self.retryOnAuthorizationFailure = retryOnAuthorizationFailure
        self.userAgent = userAgent
        self.remoteTimeout = remoteTimeout
        self.retryOnHTTP429 = retryOnHTTP429
        self.minBackoff = minBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
    }

    /// Headers that configuration may not set (Prometheus's list): the protocol owns them.
    public static let reservedHeaders: Set<String> = [
        "authorization", "host", "content-encoding", "content-length", "content-type", "user-agent",
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "www-authenticate",
        "x-prometheus-remote-write-version",
    ]
}
