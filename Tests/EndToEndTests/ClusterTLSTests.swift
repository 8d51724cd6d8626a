import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// Three members gossiping over HTTPS with mutual TLS (`--cluster.enable-tls`), certificates
    /// made here with openssl; a fourth whose certificate another CA signed never gets in.
    @Suite(.serialized) struct ClusterTLSTests {

        private func tlsFlags(authority: String, issued: TestCertificateAuthority.Issued) -> [String] {
            [
                "--cluster.enable-tls=true", "--cluster.tls-ca-path=\(authority)",
                "--cluster.tls-cert-path=\(issued.certificatePath)", "--cluster.tls-key-path=\(issued.keyPath)",
            ]
        }

        @Test(.timeLimit(.minutes(5))) func membersGossipOverMutualTLSAndAStrangerCertificateNeverJoins()
            async throws
        {
            let members = ["agentd-1", "agentd-2", "agentd-3"]
            let scenario = try await Scenario(exporters: 6, members: members)
            defer { scenario.stop() }
            let authority = try TestCertificateAuthority(in: scenario.directory.sub("ca"), name: "cluster CA")
            let strangers = try TestCertificateAuthority(in: scenario.directory.sub("other-ca"), name: "another CA")
            // The test reads the API as a browser would: trusting the CA, presenting no certificate.
            let reader = TestClientIdentity(trusting: authority, presenting: nil)
            let ports = members.map { _ in freePort() }
            let join = ports.map { "127.0.0.1:\($0)" }
            let agents = try members.enumerated().map { index, name in
                try AgentProcess(
                    name: name, port: ports[index], config: scenario.config, storage: scenario.directory.sub(name),
                    join: join, extra: tlsFlags(authority: authority.certificatePath, issued: authority.issue(name)),
                    identity: reader)
            }
            defer { for agent in agents { agent.process.stop() } }
            for agent in agents { try await agent.waitUntilReady() }
            #expect(
                await waitUntil(within: .seconds(20)) {
                    await allAgents(agents) { await clusterParticipants($0) == Set(members) }
                })
            #expect(
                await waitUntil(within: .seconds(10)) {
                    await allAgents(agents) { await targetOwners($0) == Set(members) }
                })

            // Plain HTTP to a TLS port gets no answer.
            #expect(await httpGet("http://127.0.0.1:\(ports[0])/-/ready") == nil)
            // Gossip without a client certificate is refused, and counted.
            let anonymous = await httpsRequest(
                "POST", agents[0].url + "/api/v1/cluster/message", identity: reader, body: "hello")
            #expect(anonymous?.status == 403, "\(String(describing: anonymous))")

            // The stranger trusts the cluster's CA, but its own certificate comes from another:
            // the members refuse it during the handshake, so nothing it says arrives.
            let stranger = try AgentProcess(
                name: "stranger", port: freePort(), config: scenario.config,
                storage: scenario.directory.sub("stranger"), join: [join[0]],
                extra: tlsFlags(authority: authority.certificatePath, issued: strangers.issue("stranger")),
                identity: TestClientIdentity(trusting: strangers, presenting: nil))
            defer { stranger.process.stop() }
            var metrics = ""
            let refused = await waitUntil(within: .seconds(20)) {
                metrics = await agents[0].get("/metrics")?.body ?? ""
                return (metric(metrics, "agentd_http_tls_handshake_failures_total") ?? 0) > 0
                    && (metric(metrics, "cluster_transport_rejected_messages_total{reason=\"no_client_certificate\"}")
                        ?? 0) > 0
            }
            #expect(refused, "\(metrics)")
            // It tried to join (its sends failed), and it is alone.
            #expect(
                await waitUntil(within: .seconds(20)) {
                    let body = await stranger.get("/metrics")?.body ?? ""
                    return (metric(body, "cluster_transport_tx_packets_failed_total") ?? 0) > 0
                })
            let seenByStranger = Set(
                (await stranger.json("/api/v0/web/peers", as: [PeerJSON].self) ?? []).map(\.name))
            #expect(seenByStranger == ["stranger"])
            for agent in agents {
                let names = Set((await agent.json("/api/v0/web/peers", as: [PeerJSON].self) ?? []).map(\.name))
                #expect(names == Set(members), "\(agent.name) sees \(names)")
            }
            #expect(agents[0].process.log.contains("Refused a TLS connection"), "\(agents[0].process.log)")

            // A graceful leave hands off over TLS as it does in clear text.
            #expect(await agents[2].process.terminate(grace: .seconds(20)) == 0)
            #expect(
                await waitUntil(within: .seconds(10)) {
                    await allAgents(agents[0..<2]) {
                        let (participants, owners) = (await clusterParticipants($0), await targetOwners($0))
                        return participants == ["agentd-1", "agentd-2"] && owners == ["agentd-1", "agentd-2"]
                    }
                })
        }

        /// Alloy's `http { tls { … } }` block, without clustering: the UI and API over HTTPS, and
        /// with `RequireAndVerifyClientCert` only for clients with a certificate from the CA.
        @Test(.timeLimit(.minutes(2))) func theHTTPBlockServesTLSAndCanRequireClientCertificates() async throws {
            let directory = TemporaryDirectory()
            let authority = try TestCertificateAuthority(in: directory.sub("ca"))
            let server = try authority.issue("server")
            let client = try authority.issue("operator")
            let config = directory.sub("config.alloy")
            try """
            http {
              tls {
                cert_file        = "\(server.certificatePath)"
                key_file         = "\(server.keyPath)"
                client_ca_file   = "\(authority.certificatePath)"
                client_auth_type = "RequireAndVerifyClientCert"
              }
            }
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let agent = try AgentProcess(
                name: "https-agent", port: freePort(), config: config, storage: directory.sub("data"),
                identity: TestClientIdentity(trusting: authority, presenting: client))
            defer { agent.process.stop() }
            try await agent.waitUntilReady()
            #expect(await agent.get("/-/healthy")?.status == 200)
            // No client certificate: the handshake is refused, and counted.
            let anonymous = TestClientIdentity(trusting: authority, presenting: nil)
            #expect(await httpsRequest("GET", agent.url + "/-/healthy", identity: anonymous) == nil)
            let metrics = await agent.get("/metrics")?.body ?? ""
            #expect((metric(metrics, "agentd_http_tls_handshake_failures_total") ?? 0) > 0, "\(metrics)")
            #expect(agent.process.log.contains("the client presented no certificate"), "\(agent.process.log)")
            // And `agentd targets` reaches it with the operator's certificate.
            let (status, output) = try await AgentProcess.run([
                "targets", "--addr", agent.address, "--tls.ca-file", authority.certificatePath, "--tls.cert-file",
                client.certificatePath, "--tls.key-file", client.keyPath,
            ])
            #expect(status == 0, "\(output)")
            #expect(output.contains("JOB"), "\(output)")
        }

        @Test func tlsWithoutItsFilesIsAClearStartupError() async throws {
            let directory = TemporaryDirectory()
            let config = directory.sub("config.alloy")
            try "".write(toFile: config, atomically: true, encoding: .utf8)
            let (status, output) = try await AgentProcess.run([
                "run", config, "--server.http.listen-addr=127.0.0.1:\(freePort())",
                "--storage.path=\(directory.sub("data"))", "--cluster.enabled=true", "--cluster.enable-tls=true",
                "--cluster.tls-ca-path=\(directory.sub("missing-ca.crt"))",
                "--cluster.tls-cert-path=\(directory.sub("missing.crt"))",
                "--cluster.tls-key-path=\(directory.sub("missing.key"))",
            ])
            #expect(status != 0)
            #expect(output.contains("could not read cert_file \(directory.sub("missing.crt"))"), "\(output)")

            let (incomplete, message) = try await AgentProcess.run([
                "run", config, "--server.http.listen-addr=127.0.0.1:\(freePort())",
                "--storage.path=\(directory.sub("data2"))", "--cluster.enabled=true", "--cluster.enable-tls=true",
            ])
            #expect(incomplete != 0)
            #expect(message.contains("--cluster.enable-tls needs --cluster.tls-ca-path"), "\(message)")
        }
    }
}
