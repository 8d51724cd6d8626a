import Cluster
import Events
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// The web UI in a real browser: two clustered agents, four node exporters, the
    /// page rendered by headless Chromium, one agent stopped, the page rendered again.
    @Suite(.serialized) struct WebUITests {
        static let members = ["web-1", "web-2"]

        @Test(
            .timeLimit(.minutes(5)),
            .enabled(
                if: Chromium.binary != nil,
                "no Chromium binary (/usr/bin/chromium): install the Debian package chromium to run the web UI test")
        )
        func pageShowsBothMembersThenTheSurvivorOwningEveryTarget() async throws {
            let chromium = try #require(Chromium.binary)
            let directory = TemporaryDirectory()
            let exporters = try await Scenario.startSplitExporters(count: 4, members: Self.members)
            defer { for exporter in exporters { exporter.0.stop() } }
            let config = directory.sub("config.alloy")
            try Scenario.configText(exporters: exporters.map(\.1), receiver: nil).write(
                toFile: config, atomically: true, encoding: .utf8)
            let ports = [freePort(), freePort()]
            let join = ports.map { "127.0.0.1:\($0)" }
            let agents = try Self.members.enumerated().map { index, name in
                try AgentProcess(
                    name: name, port: ports[index], config: config, storage: directory.sub("data-\(name)"), join: join)
            }
            defer { for agent in agents { agent.process.stop() } }
            for agent in agents { try await agent.waitUntilReady() }
            let instances = Set((1...exporters.count).map { "node-exporter-\($0)" })

            // Both members participate and every target is up, as its owner reports it.
            let settled = await waitUntil(within: .seconds(30)) {
                for agent in agents {
                    let peers = await agent.json("/api/v0/web/peers", as: [WebPeer].self) ?? []
                    guard peers.filter({ $0.state == "participant" }).count == 2 else { return false }
                }
                return await Self.upOnOwner(agents) == instances
            }
            #expect(settled, "cluster did not settle: \(agents.map { $0.process.log.suffix(1500) })")
            let apiOwners = await Self.owners(agents[0])

            // 1. The page, served by web-1, shows both members, every target with its owner, the throughput
            // of both members and an ownership timeline per target.
            var page = Page(dom: "")
            let rendered = await waitUntil(within: .seconds(30), every: .milliseconds(500)) {
                page = await Chromium.render(chromium, agents[0].url + "/")
                return page.targets.count == instances.count && page.targets.allSatisfy { $0["data-health"] == "up" }
                    && page.series.count >= 2
            }
            #expect(rendered, "page did not render the cluster: \(page.dom.suffix(3000))")
            #expect(Set(page.members.compactMap { $0["data-name"] }) == Set(Self.members))
            #expect(page.members.allSatisfy { $0["data-state"] == "participant" })
            #expect(page.members.filter { $0["data-self"] == "true" }.compactMap { $0["data-name"] } == ["web-1"])
            #expect(page.members.allSatisfy { $0["data-addr"]?.hasPrefix("127.0.0.1:") == true })
            #expect(page.members.allSatisfy { $0["data-incarnation"] != nil })
            #expect(Set(page.targets.compactMap { $0["data-instance"] }) == instances)
            for target in page.targets {
                let instance = target["data-instance"] ?? ""
                #expect(target["data-owner"] == apiOwners[instance], "\(instance): page \(target), API \(apiOwners)")
            }
            #expect(Set(page.targets.compactMap { $0["data-owner"] }) == Set(Self.members), "both members own targets")
            #expect(Set(page.series.compactMap { $0["data-member"] }).isSuperset(of: Self.members))
            #expect(Set(page.timelineRows.compactMap { $0["data-instance"] }) == instances)
            for row in page.timelineRows {
                let instance = row["data-instance"] ?? ""
                #expect(row["data-current-owner"] == apiOwners[instance], "timeline of \(instance): \(row)")
            }
            if let path = ProcessInfo.processInfo.environment["AGENTD_UI_SCREENSHOT"] {
                await Chromium.screenshot(chromium, agents[0].url + "/", to: path)
            }

            // 2. SIGTERM web-2; once web-1 sees it gone, the page shows web-1 owning (and scraping) every target.
            let status = await agents[1].process.terminate(grace: .seconds(20))
            #expect(status == 0, "web-2 exit status \(status): \(agents[1].process.log.suffix(2000))")
            let gone = await waitUntil(within: .seconds(20)) {
                let peers = await agents[0].json("/api/v0/web/peers", as: [WebPeer].self) ?? []
                return !peers.contains { $0.name == "web-2" && $0.state != "left" && $0.state != "dead" }
            }
            #expect(gone, "web-1 still lists web-2 as a member")
            let survivorOwnsAll = await waitUntil(within: .seconds(30), every: .milliseconds(500)) {
                page = await Chromium.render(chromium, agents[0].url + "/")
                return page.targets.count == instances.count
                    && page.targets.allSatisfy { $0["data-owner"] == "web-1" && $0["data-health"] == "up" }
                    && page.timelineRows.allSatisfy { $0["data-current-owner"] == "web-1" }
            }
            #expect(survivorOwnsAll, "page after the stop: \(page.targets) \(page.timelineRows)")
            #expect(Set(page.targets.compactMap { $0["data-instance"] }) == instances)
            #expect(
                page.members.allSatisfy { $0["data-name"] == "web-1" || ["left", "dead"].contains($0["data-state"]) },
                "members after the stop: \(page.members)")
            #expect(page.members.contains { $0["data-name"] == "web-1" && $0["data-state"] == "participant" })
        }

        // MARK: The cluster

        /// instance → owner, as a member's API says.
        static func owners(_ agent: AgentProcess) async -> [String: String] {
            let targets = await agent.json("/api/v0/web/targets", as: WebTargets.self)?.targets ?? []
            return Dictionary(targets.map { ($0.labels["instance"] ?? "", $0.owner ?? "") }) { first, _ in first }
        }

        /// The instances that their owner reports up.
        static func upOnOwner(_ agents: [AgentProcess]) async -> Set<String> {
            var up: Set<String> = []
            for agent in agents {
                for target in await agent.json("/api/v0/web/targets", as: WebTargets.self)?.targets ?? []
                where target.owner == agent.name && target.health == "up" {
                    up.insert(target.labels["instance"] ?? "")
                }
            }
            return up
        }
    }

    private struct WebPeer: Decodable {
        var name: String
        var state: String
    }

    private struct WebTargets: Decodable {
        struct Target: Decodable {
            var key: String
            var labels: [String: String]
            var owner: String?
            var health: String
        }
        var targets: [Target]
    }

    /// The rendered DOM, and the elements the UI marks for tests (their attributes).
}

struct Page {
    let dom: String

    var members: [[String: String]] { elements(tag: "tr", class: "member") }
    var targets: [[String: String]] { elements(tag: "tr", class: "target") }
    var series: [[String: String]] { elements(tag: "path", class: "series").filter { $0["data-member"] != "total" } }
    var timelineRows: [[String: String]] { elements(tag: "div", class: "timeline-row") }

    /// The attributes of every `<tag …>` whose class list holds `class`.
    func elements(tag: String, class name: String) -> [[String: String]] {
        let tags = dom.matches(of: /<([a-zA-Z]+)\s([^>]*)>/)
        return tags.compactMap { match -> [String: String]? in
            guard match.output.1.lowercased() == tag else { return nil }
            var attributes: [String: String] = [:]
            for attribute in match.output.2.matches(of: /([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"/) {
                attributes[String(attribute.output.1)] = Self.unescape(String(attribute.output.2))
            }
            let classes = (attributes["class"] ?? "").split(separator: " ")
            return classes.contains(Substring(name)) ? attributes : nil
        }
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// Headless Chromium, run once per rendering.
enum Chromium {
    static var binary: String? {
        let candidates =
            [ProcessInfo.processInfo.environment["CHROMIUM"]].compactMap { $0 } + [
                "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
            ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The DOM after the page's script has polled a few times (virtual time runs the timers).
    static func render(_ binary: String, _ url: String) async -> Page {
        Page(dom: await run(binary, ["--virtual-time-budget=5000", "--dump-dom", url]))
    }

    static func screenshot(_ binary: String, _ url: String, to path: String) async {
        _ = await run(
            binary,
            ["--virtual-time-budget=1500", "--hide-scrollbars", "--window-size=1280,900", "--screenshot=\(path)", url])
    }

    /// Runs Chromium headless with a throw-away profile; its standard output, or "" after a minute.
    static func run(_ binary: String, _ arguments: [String]) async -> String {
        let profile = TemporaryDirectory("chromium")
        let output = profile.sub("stdout.html")
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--user-data-dir=\(profile.sub("profile"))",
            ] + arguments
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return "" }
        if !(await waitUntil(within: .seconds(60), every: .milliseconds(50)) { !process.isRunning }) {
            process.terminate()
            process.waitUntilExit()
        }
        return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    }
}
