import AsyncHTTPClient
import HTTPSecurity
import NIOCore
import NIOSSL

/// Why an attempt to send a request failed: the `reason` label of
/// `agentd_remote_storage_failed_requests_total` and the `remote_write.reason` of the log line.
/// A small fixed set, so the label stays bounded; the details (which certificate check, which
/// file, the receiver's answer) go to the log line's message.
public enum RemoteWriteFailureReason: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The TLS handshake failed: a server certificate signed by an unknown authority, expired or
    /// not yet valid, issued for another name; no protocol version or cipher in common.
    case tls
    /// HTTP 401: the receiver refused the credentials (or there were none). Retried.
    case unauthorized
    /// HTTP 403: the credentials are not allowed to write. Retried.
    case forbidden
    /// A credential or certificate file that cannot be read or does not parse (the message names
    /// the file). Retried: the file is read again before the next attempt.
    case credentials
    /// HTTP 429 (retried with `retry_on_http_429`, dropped without).
    case rateLimited = "http_429"
    /// HTTP 5xx. Retried.
    case serverError = "http_5xx"
    /// Another 4xx that names no sample: the request is dropped.
    case clientError = "http_4xx"
    /// No answer within `remote_timeout`, or no connection within it. Retried.
    case timeout
    /// The connection failed or broke: refused, reset, unreachable. Retried.
    case network

    public var description: String { self.rawValue }

    /// The reason of an answer with `status` that is not a success.
    public static func classify(status: Int) -> Self {
        switch status {
        case 401: .unauthorized
        case 403: .forbidden
        case 429: .rateLimited
        case 500..<600: .serverError
        default: .clientError
        }
    }

    /// The reason of a request that got no answer, and what to say about it: for TLS, which
    /// check failed, in words (BoringSSL's own code stays at the end).
    public static func classify(error: any Error) -> (reason: Self, message: String) {
        switch error {
        case let error as CredentialError:
            return (.credentials, error.description)
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            return (.tls, "TLS: the server's certificate is not valid for the name connected to (\(error))")
        case let error as NIOSSLError:
            if TLSFailure.reasonNames(error).contains("CERTIFICATE_VERIFY_FAILED") {
                return (.tls, "TLS handshake failed: \(Self.verifyFailed)")
            }
            return (.tls, TLSFailure.describe(error) ?? "TLS handshake failed: \(error)")
        case let error as HTTPClientError
        where error == .deadlineExceeded || error == .connectTimeout || error == .readTimeout
            || error == .writeTimeout || error == .getConnectionFromPoolTimeout:
            return (.timeout, "\(error)")
        case let error as PlainHTTPError:
            return (error.timedOut ? .timeout : .network, error.message)
        default:
            return (.network, "\(error)")
        }
    }

    /// BoringSSL says `CERTIFICATE_VERIFY_FAILED` alike for an unknown authority, an expired
    /// certificate and one not valid yet.
    private static let verifyFailed =
        "the server's certificate did not verify: signed by an authority not trusted "
        + "(ca_file, ca_pem or the system's roots), expired, or not valid yet (CERTIFICATE_VERIFY_FAILED)"
}
