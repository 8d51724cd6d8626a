import Agent
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `agentd members` and `agentd targets`: a running agent's view, as tables.
struct MembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members", abstract: "The cluster's members, as a running agent sees them.")

    @Option(help: "The agent's address (its --server.http.listen-addr).")
    var addr = "127.0.0.1:12345"

    func run() async throws {
        let peers = try await fetchJSON("http://\(addr)/api/v0/web/peers") as? [[String: Any]] ?? []
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

    @Option(help: "The agent's address (its --server.http.listen-addr).")
    var addr = "127.0.0.1:12345"

    func run() async throws {
        let object = try await fetchJSON("http://\(addr)/api/v0/targets") as? [String: Any] ?? [:]
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

/// GETs `url` and parses its body as JSON. AsyncHTTPClient rather than URLSession: on Linux,
/// URLSession would link libcurl and its dependencies into every start of the binary.
private func fetchJSON(_ url: String) async throws -> Any {
    do {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
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
