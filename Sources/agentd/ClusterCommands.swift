import Agent
import ArgumentParser
import AsyncHTTPClient
import Foundation
import HTTPSecurity
import NIOCore
import NIOHTTP1

/// `agentd members` and `agentd targets`: a running agent's view, as tables.
struct MembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members", abstract: "The cluster's members, as a running agent sees them.")

    @OptionGroup var agent: AgentAddress

    func run() async throws {
        let peers = try await agent.fetchJSON("/api/v0/web/peers") as? [[String: Any]] ?? []
        printTable(
            header: ["NAME", "ADDRESS", "STATE", "SELF"],
            rows: peers.map { peer in
                [
                    peer["name"] as? String ?? "", peer["addr"] as? String ?? "", peer["state"] as? String ?? "",
                    (peer["isSelf"] as? Bool ?? false) ? "*" : "",
                ]
            })
    }
}

struct TargetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "targets", abstract: "Every target with its owner and last scrape, as a running agent sees them.")

    @OptionGroup var agent: AgentAddress

    func run() async throws {
        let object = try await agent.fetchJSON("/api/v0/targets") as? [String: Any] ?? [:]
        let targets = object["targets"] as? [[String: Any]] ?? []
        printTable(
            header: ["JOB", "INSTANCE", "URL", "OWNER", "HEALTH (HERE)", "LAST SCRAPE", "ERROR"],
            rows: targets.map { target in
                let labels = target["labels"] as? [String: String] ?? [:]
                let last = (target["lastScrape"] as? Int64).map(formatTimestamp) ?? "-"
                return [
                    labels["job"] ?? "", labels["instance"] ?? "", target["url"] as? String ?? "",
                    target["owner"] as? String ?? "-",
                    (target["scrapedHere"] as? Bool ?? false) ? target["health"] as? String ?? "" : "-", last,
                    target["lastError"] as? String ?? "",
                ]
            })
    }
}

/// Where a running agent is, and how to reach it when it serves TLS (`--cluster.enable-tls`).
struct AgentAddress: ParsableArguments {
    @Option(help: "The agent's address (its --server.http.listen-addr), or its URL.")
    var addr = "127.0.0.1:12345"

    @Option(name: .customLong("tls.ca-file"), help: "Trust this CA: the agent serves HTTPS.")
    var caFile: String?

    @Option(name: .customLong("tls.cert-file"), help: "Present this client certificate.")
    var certFile: String?

    @Option(name: .customLong("tls.key-file"), help: "The client certificate's key.")
    var keyFile: String?

    /// The agent's base URL: `addr` as given when it has a scheme, otherwise HTTPS when a CA is given.
    var baseURL: String {
        if addr.hasPrefix("http://") || addr.hasPrefix("https://") { return addr }
        return "\(caFile == nil ? "http" : "https")://\(addr)"
    }

    /// GETs `path` and parses its body as JSON. AsyncHTTPClient rather than URLSession: on Linux,
    /// URLSession would link libcurl and its dependencies into every start of the binary.
    func fetchJSON(_ path: String) async throws -> Any {
        let url = baseURL + path
        var request = HTTPClientRequest(url: url)
        if caFile != nil || certFile != nil {
            let settings = HTTPClientSettings(
                tls: TLSSettings(
                    certificateAuthority: caFile.map(PEMSource.file), certificate: certFile.map(PEMSource.file),
                    key: keyFile.map(PEMSource.file)))
            do {
                try HTTPClientCredentials(settings: settings, owner: "agentd").authorize(&request)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        return try await readJSON(request, url: url)
    }
}

/// GETs `request` and parses its body as JSON.
private func readJSON(_ request: HTTPClientRequest, url: String) async throws -> Any {
    do {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 64 << 20)
        guard response.status == .ok else {
            throw ValidationError("cannot read \(url): HTTP \(response.status.code)")
        }
        return try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
    } catch let error as ValidationError {
        throw error
    } catch {
        throw ValidationError("cannot read \(url): \(error)")
    }
}
