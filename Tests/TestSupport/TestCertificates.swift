import Foundation

/// A certificate authority made by the test with `openssl`, in a directory of its own, and the
/// certificates it signs: real X.509 for real TLS peers (Prometheus, node exporter, agentd).
public final class TestCertificateAuthority: Sendable {
    /// Where the files live: `<name>.crt` and `<name>.key` for each certificate, `ca.crt`/`ca.key`.
    public let directory: String
    public let name: String

    /// The CA's certificate, the file clients trust (`ca_file`).
    public var certificatePath: String { directory + "/ca.crt" }

    /// Makes a new CA (EC P-256, valid a year) called `name`.
    public init(in directory: String, name: String = "agentd test CA") throws {
        self.directory = directory
        self.name = name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", directory + "/ca.key", "-out", directory + "/ca.crt", "-days", "365", "-subj", "/CN=\(name)",
        ])
    }

    /// A certificate issued by this CA, usable by servers and clients alike.
    public struct Issued: Sendable {
        public var certificatePath: String
        public var keyPath: String
    }

    /// Issues `<file>.crt`/`<file>.key` for `commonName`, naming `dnsNames` and `ipAddresses` as
    /// subject alternative names. `days` may be negative: a certificate that has expired.
    @discardableResult
    public func issue(
        _ file: String, commonName: String? = nil, dnsNames: [String] = ["localhost"],
        ipAddresses: [String] = ["127.0.0.1"], days: Int = 30
    ) throws -> Issued {
        let key = "\(directory)/\(file).key"
        let certificate = "\(directory)/\(file).crt"
        let request = "\(directory)/\(file).csr"
        let extensions = "\(directory)/\(file).ext"
        let names = dnsNames.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }
        try "subjectAltName=\(names.joined(separator: ","))\nextendedKeyUsage=serverAuth,clientAuth\n".write(
            toFile: extensions, atomically: true, encoding: .utf8)
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
            "-out", request, "-subj", "/CN=\(commonName ?? file)",
        ])
        try openssl([
            "x509", "-req", "-in", request, "-CA", certificatePath, "-CAkey", directory + "/ca.key",
            "-CAcreateserial", "-out", certificate, "-days", String(days), "-extfile", extensions,
        ])
        return Issued(certificatePath: certificate, keyPath: key)
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSupportError(
                "openssl \(arguments.joined(separator: " ")) failed: \(String(decoding: text, as: UTF8.self))")
        }
    }
}
