import AsyncHTTPClient
import NIOSSL
import Primitives

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Why a TLS connection failed, in words a user understands: what a target's last error, a
/// remote-write endpoint's log line or `up = 0` shows instead of BoringSSL's error stack.
///
/// BoringSSL reports every refused server certificate as `CERTIFICATE_VERIFY_FAILED`, without
/// its reason, and a server that refuses the client's certificate under TLS 1.3 just closes the
/// connection as AsyncHTTPClient sees it. ``explain(_:url:credentials:within:)`` then connects
/// once more (``TLSProbe``), looks at the certificates the server presents and at the alert it
/// sends, and names the reason: an expired certificate, an unknown authority, a missing client
/// certificate.
public enum TLSFailure {
    /// A short reason for a failure of the TLS layer; nil for any other error. `host` is the
    /// name the certificate was checked against (the URL's host or `server_name`).
    public static func describe(_ error: any Error, host: String? = nil) -> String? {
        if let error = error as? NIOSSLExtraError {
            if error == .failedToValidateHostname {
                return "TLS handshake failed: certificate is not valid for \(host ?? "the server's name")"
            }
            return "TLS error: \(error)"
        }
        if let error = error as? NIOSSLError {
            switch error {
            case .handshakeFailed(let failure): return "TLS handshake failed: " + describe(failure)
            case .shutdownFailed(let failure): return "TLS shutdown failed: " + describe(failure)
            case .uncleanShutdown: return "TLS connection closed without a close_notify"
            default: return "TLS error: \(error)"
            }
        }
        if let error = error as? BoringSSLError { return "TLS error: " + describe(error) }
        return nil
    }

    /// ``describe(_:host:)``, with the reason a refused certificate or a closed connection hides
    /// found out by connecting to the server once more, within `limit`. Nil for an error that is
    /// not about TLS.
    public static func explain(
        _ error: any Error, url: String, credentials: HTTPClientCredentials?, within limit: Duration
    ) async -> String? {
        let settings = credentials?.settings ?? HTTPClientSettings()
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "https",
            let host = components.host
        else { return describe(error) }
        let expected = settings.tls?.serverName ?? host
        let verifyFailed = reasonNames(error).contains("CERTIFICATE_VERIFY_FAILED")
        let closed = (error as? HTTPClientError) == .remoteConnectionClosed
        // Through a proxy the probe would need a CONNECT of its own: the plain reason has to do.
        guard verifyFailed || closed, settings.proxyURL == nil, limit > .milliseconds(50),
            let configuration = (try? credentials?.tlsConfiguration() ?? TLSConfiguration.makeClientConfiguration())
        else { return describe(error, host: expected) }
        let probe = await TLSProbe.run(
            host: host, port: components.port ?? 443, serverName: settings.tls?.serverName,
            path: components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath,
            configuration: configuration, acceptServer: !verifyFailed, within: limit)
        if verifyFailed {
            if let chain = probe.chain, let reason = refusal(of: chain, trusting: configuration) {
                return "TLS handshake failed: " + reason
            }
            return describe(error, host: expected)
        }
        // The connection was closed: an alert from the server says why, if it sent one.
        if let alert = probe.error.flatMap({ clientCertificateRefusal($0, presented: configuration) }) {
            return "TLS handshake failed: " + alert
        }
        return nil
    }

    // MARK: - BoringSSL's reasons

    /// BoringSSL's reason names in `error` (`CERTIFICATE_VERIFY_FAILED`), innermost last.
    public static func reasonNames(_ error: any Error) -> [String] {
        let stack: [BoringSSLInternalError]
        switch error {
        case NIOSSLError.handshakeFailed(let failure), NIOSSLError.shutdownFailed(let failure): stack = failure.stack
        case let failure as BoringSSLError: stack = failure.stack
        default: return []
        }
        return stack.map(reasonName)
    }

    /// The reason name of one entry: `error:1000007d:SSL routines:OPENSSL_internal:NAME at FILE:LINE`.
    static func reasonName(_ entry: BoringSSLInternalError) -> String {
        var text = entry.description
        if let at = text.ranges(of: " at ").last { text = String(text[..<at.lowerBound]) }
        if let colon = text.lastIndex(of: ":") { text = String(text[text.index(after: colon)...]) }
        return text
    }

    /// What the reason names mean, for the ones a user meets.
    static let meanings: [String: String] = [
        "CERTIFICATE_VERIFY_FAILED": "certificate verify failed",
        "WRONG_VERSION_NUMBER": "the server does not speak TLS (an http target?)",
        "TLSV1_ALERT_PROTOCOL_VERSION": "no TLS version in common with the server (see min_version)",
        "UNSUPPORTED_PROTOCOL": "no TLS version in common with the server (see min_version)",
        "TLSV1_ALERT_CERTIFICATE_REQUIRED": "the server requires a client certificate (cert_file and key_file)",
        "SSLV3_ALERT_BAD_CERTIFICATE": "the server refused the client certificate (bad certificate)",
        "TLSV1_ALERT_UNKNOWN_CA": "the server refused the client certificate (unknown CA)",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "the server refused the client certificate (certificate unknown)",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED": "the server refused the client certificate (expired)",
        "SSLV3_ALERT_CERTIFICATE_REVOKED": "the server refused the client certificate (revoked)",
        "SSLV3_ALERT_HANDSHAKE_FAILURE":
            "the server refused the handshake (no cipher, version or certificate acceptable)",
        "NO_SHARED_CIPHER": "no cipher suite in common with the server",
    ]

    static func describe(_ failure: BoringSSLError) -> String {
        let names = failure.stack.map(reasonName)
        if let known = names.lazy.compactMap({ meanings[$0] }).first { return known }
        if names.isEmpty { return "\(failure)" }
        return names.map { $0.lowercased().replacing("_", with: " ") }.joined(separator: ", ")
    }

    /// Why the server refused the client's certificate (or its absence), from its alert.
    static func clientCertificateRefusal(_ error: any Error, presented configuration: TLSConfiguration) -> String? {
        let names = reasonNames(error)
        let presented = !configuration.certificateChain.isEmpty
        for name in names {
            switch name {
            case "TLSV1_ALERT_CERTIFICATE_REQUIRED":
                return meanings[name]
            case "SSLV3_ALERT_BAD_CERTIFICATE", "SSLV3_ALERT_CERTIFICATE_UNKNOWN", "TLSV1_ALERT_UNKNOWN_CA",
                "SSLV3_ALERT_CERTIFICATE_EXPIRED", "SSLV3_ALERT_CERTIFICATE_REVOKED", "SSLV3_ALERT_HANDSHAKE_FAILURE":
                // TLS 1.2 servers say "bad certificate" for a missing one too.
                return presented ? meanings[name] : meanings["TLSV1_ALERT_CERTIFICATE_REQUIRED"]
            default:
                continue
            }
        }
        return nil
    }

    // MARK: - The server's certificates

    /// Why `chain` (the server's certificates, leaf first) is not trusted under `configuration`;
    /// nil when nothing found explains it.
    static func refusal(
        of chain: [NIOSSLCertificate], trusting configuration: TLSConfiguration, now: Date = Date()
    ) -> String? {
        guard let leaf = chain.first else { return nil }
        let seconds = Int(now.timeIntervalSince1970)
        for (index, certificate) in chain.enumerated() {
            let which = index == 0 ? "certificate" : "intermediate certificate \(name(certificate.subjectName))"
            if seconds > Int(certificate.notValidAfter) {
                return "\(which) has expired (not valid after \(timestamp(Int(certificate.notValidAfter))))"
            }
            if seconds < Int(certificate.notValidBefore) {
                return "\(which) is not valid yet (not valid before \(timestamp(Int(certificate.notValidBefore))))"
            }
        }
        let top = chain.last ?? leaf
        let issuer = top.issuerName
        guard let roots = trustedRoots(configuration) else {
            return "certificate signed by unknown authority (issued by \(name(issuer)), not among the system's roots)"
        }
        let sameName = roots.filter { $0.subjectName == issuer }
        if sameName.isEmpty {
            return "certificate signed by unknown authority (issued by \(name(issuer)), not by a CA in ca_file)"
        }
        if let expired = sameName.first(where: { seconds > Int($0.notValidAfter) }) {
            return "CA certificate \(name(expired.subjectName)) has expired"
                + " (not valid after \(timestamp(Int(expired.notValidAfter))))"
        }
        // A trusted CA of that name, yet no valid signature by it: another key under the same name.
        return "certificate signed by unknown authority (issued by \(name(issuer)), a name in ca_file, but not"
            + " signed by that CA's key)"
    }

    /// The roots `configuration` trusts, when they are known certificates (nil: the system's).
    static func trustedRoots(_ configuration: TLSConfiguration) -> [NIOSSLCertificate]? {
        var roots: [NIOSSLCertificate]
        switch configuration.trustRoots {
        case .certificates(let certificates)?: roots = certificates
        case .file(let path)?: roots = (try? NIOSSLCertificate.fromPEMFile(path)) ?? []
        case .default?, nil: return nil
        }
        for extra in configuration.additionalTrustRoots {
            switch extra {
            case .certificates(let certificates): roots += certificates
            case .file(let path): roots += (try? NIOSSLCertificate.fromPEMFile(path)) ?? []
            }
        }
        return roots
    }

    /// `"CN=agentd test CA"`: a distinguished name, as far as NIOSSL shows it.
    static func name(_ parts: [SSLCertificateName]) -> String {
        let labels: [(SSLCertificateNameType, String)] = [
            (.commonName, "CN"), (.organizationalUnit, "OU"), (.organization, "O"), (.city, "L"), (.state, "ST"),
            (.country, "C"), (.emailAddress, "emailAddress"), (.userId, "UID"),
        ]
        let text = parts.compactMap { part in
            labels.first { $0.0 == part.type }.map { "\($0.1)=\(part.value)" }
        }.joined(separator: ",")
        return "\"\(text)\""
    }

    static func timestamp(_ seconds: Int) -> String {
        UTCTime.seconds(Int64(seconds))
    }
}

extension BoringSSLError {
    /// The error stack, for the cases that carry one.
    var stack: [BoringSSLInternalError] {
        switch self {
        case .sslError(let stack), .unknownError(let stack), .invalidSNIName(let stack), .failedToSetALPN(let stack):
            stack
        default: []
        }
    }
}
