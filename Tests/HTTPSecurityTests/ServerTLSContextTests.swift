import Foundation
import HTTPSecurity
import NIOSSL
import Synchronization
import TestSupport
import Testing

@Suite struct ServerTLSContextTests {
    @Test func aRenewedCertificateMakesANewContextAndABrokenOneKeepsTheLast() throws {
        let directory = TemporaryDirectory()
        let authority = try TestCertificateAuthority(in: directory.sub("ca"))
        let first = try authority.issue("first")
        let certificate = directory.sub("server.crt")
        let key = directory.sub("server.key")
        try FileManager.default.copyItem(atPath: first.certificatePath, toPath: certificate)
        try FileManager.default.copyItem(atPath: first.keyPath, toPath: key)
        let failures = Mutex<[CredentialError]>([])
        let context = try ServerTLSContext(
            settings: ServerTLSSettings(
                certificate: .file(certificate), key: .file(key),
                clientCertificateAuthority: .file(authority.certificatePath), clientAuthentication: .verifyIfGiven),
            owner: "--cluster.enable-tls"
        ) { failure in failures.withLock { $0.append(failure) } }

        let initial = context.current()
        #expect(context.current() === initial, "nothing changed: the same context")

        // Renewed: a new certificate and key renamed into place, as cert-manager does.
        let second = try authority.issue("second")
        #expect(rename(second.certificatePath, certificate) == 0)
        #expect(rename(second.keyPath, key) == 0)
        let renewed = context.current()
        #expect(renewed !== initial)
        #expect(context.current() === renewed)
        #expect(failures.withLock { $0.isEmpty })

        // Half-written: the key is not a key. The last good context stays, and the failure is
        // reported once, naming the file and never its content.
        try "-----BEGIN PRIVATE KEY-----\nnot a key\n".write(toFile: key, atomically: true, encoding: .utf8)
        #expect(context.current() === renewed)
        #expect(context.current() === renewed)
        let reported = failures.withLock { $0 }
        #expect(reported.count == 1)
        #expect(reported.first?.description.contains("key_file (file \(key))") == true, "\(reported)")
        #expect(reported.first?.description.contains("not a key") == false)
    }

    @Test func aServerWithoutItsCertificateDoesNotStart() throws {
        let directory = TemporaryDirectory()
        #expect {
            try ServerTLSContext(
                settings: ServerTLSSettings(
                    certificate: .file(directory.sub("missing.crt")), key: .file(directory.sub("missing.key"))),
                owner: "--cluster.enable-tls")
        } throws: { error in
            "\(error)"
                == "--cluster.enable-tls: could not read cert_file \(directory.sub("missing.crt")): No such file or directory"
        }
    }
}
