import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// The monitoring mixin in operations/: promtool checks and unit-tests the alerting rules, and
    /// every dashboard query, template variable and alert expression runs against a real
    /// Prometheus that receives two real members' remote write and scrapes their `/metrics`.
    @Suite(.serialized) struct MixinTests {
        static let operations = String(#filePath.dropLast("Tests/EndToEndTests/MixinTests.swift".count)) + "operations/"

        /// Runs a command to completion (at most a minute): its exit status and output.
        private func run(_ executable: String, _ arguments: [String]) async throws -> (Int32, String) {
            let child = try ChildProcess(
                executable, arguments, name: URL(fileURLWithPath: executable).lastPathComponent)
            guard let status = await child.waitForExit(within: .seconds(60)) else {
                await child.kill9()
                throw TestSupportError("\(executable) \(arguments.joined(separator: " ")) did not finish")
            }
            return (status, child.log)
        }

        @Test(.timeLimit(.minutes(2))) func promtoolChecksTheRulesAndEveryAlertsUnitTestsPass() async throws {
            let (checked, checkOutput) = try await run(
                "/usr/bin/promtool", ["check", "rules", Self.operations + "alerts.yaml"])
            #expect(checked == 0, "promtool check rules:\n\(checkOutput)")
            let (testStatus, testOutput) = try await run(
                "/usr/bin/promtool", ["test", "rules", Self.operations + "alerts.test.yaml"])
            #expect(testStatus == 0, "promtool test rules:\n\(testOutput)")
            // Every alert has a unit test: its name is an `alertname` the tests evaluate.
            let rules = try String(contentsOfFile: Self.operations + "alerts.yaml", encoding: .utf8)
            let tests = try String(contentsOfFile: Self.operations + "alerts.test.yaml", encoding: .utf8)
            let alerts = Self.values(of: "alert", in: rules)
            let tested = Set(Self.values(of: "alertname", in: tests))
            #expect(!alerts.isEmpty)
            #expect(
                Set(alerts).subtracting(tested).isEmpty, "alerts without a test: \(Set(alerts).subtracting(tested))")
        }

        @Test(.timeLimit(.minutes(1))) func theDashboardsAreWhatTheirScriptWrites() async throws {
            let (status, output) = try await run("/usr/bin/python3", [Self.operations + "dashboards.py", "--check"])
            #expect(status == 0, "\(output)")
        }

        @Test(.timeLimit(.minutes(3))) func everyDashboardQueryReturnsDataFromTwoRealMembers() async throws {
            let members = ["agentd-1", "agentd-2"]
            let directory = TemporaryDirectory()
            let exporters = try await Scenario.startSplitExporters(count: 4, members: members)
            defer { for exporter in exporters { exporter.0.stop() } }
            let ports = [freePort(), freePort()]
            let addresses = ports.map { "127.0.0.1:\($0)" }
            // The members' own /metrics reach Prometheus as an operator's would: Prometheus scrapes
            // them (job "agentd", one instance per member). An agent forwarding its own metrics would
            // lose them in the outage they should show.
            let prometheus = try await PrometheusReceiver(
                directory: directory.sub("prometheus"),
                configuration: """
                    global:
                      scrape_interval: 1s
                      scrape_timeout: 800ms
                      evaluation_interval: 1s
                    rule_files:
                      - \(Self.operations)alerts.yaml
                    scrape_configs:
                      - job_name: agentd
                        static_configs:
                          - targets: [\(addresses.map { "'\($0)'" }.joined(separator: ", "))]

                    """)
            defer { prometheus.process.stop() }
            let config = directory.sub("config.alloy")
            try Scenario.configText(exporters: exporters.map(\.1), receiver: prometheus.writeURL)
                .write(toFile: config, atomically: true, encoding: .utf8)
            let agents = try members.enumerated().map { index, name in
                try AgentProcess(
                    name: name, port: ports[index], config: config, storage: directory.sub("data-\(name)"),
                    join: addresses)
            }
            defer { for agent in agents { agent.process.stop() } }
            for agent in agents { try await agent.waitUntilReady() }

            let dashboards = try Self.dashboards()
            let queries = dashboards.flatMap(\.queries)
            #expect(dashboards.count == 5)
            // Until every query answers with data, and with both members where it is per member.
            var missing: [String] = []
            let answered = await waitUntil(within: .seconds(60), every: .seconds(1)) {
                missing = []
                for query in queries {
                    let answer = await Self.query(prometheus, query.expr)
                    if let problem = Self.problem(with: answer, of: query, members: members, addresses: addresses) {
                        missing.append("\(query.dashboard) / \(query.panel): \(problem)\n  \(query.expr)")
                    }
                }
                for variable in dashboards.flatMap(\.variables) {
                    let series = await Self.query(prometheus, variable.selector).series
                    if !series.contains(where: { $0[variable.label] != nil }) {
                        missing.append("variable \(variable.label): no \(variable.selector) with that label")
                    }
                }
                return missing.isEmpty
            }
            #expect(answered, "queries without data:\n\(missing.joined(separator: "\n"))")

            // The alerts: Prometheus loaded every one from alerts.yaml and evaluates it without
            // error; healthy, most select nothing, so each must at least be valid and the series it
            // reads must exist.
            let alertsFile = try String(contentsOfFile: Self.operations + "alerts.yaml", encoding: .utf8)
            let alertNames = Self.values(of: "alert", in: alertsFile)
            var rules: [(name: String, query: String, health: String, error: String)] = []
            let evaluated = await waitUntil(within: .seconds(30), every: .milliseconds(500)) {
                rules = await Self.rules(prometheus)
                return rules.count == alertNames.count && rules.allSatisfy { $0.health != "unknown" }
            }
            #expect(evaluated, "rules: \(rules)")
            #expect(Set(rules.map(\.name)) == Set(alertNames))
            for rule in rules {
                #expect(rule.health == "ok", "\(rule.name): \(rule.health) \(rule.error)")
                let answer = await Self.query(prometheus, rule.query)
                #expect(answer.error == nil, "\(rule.name): \(answer.error ?? "")")
                for metric in Self.metricNames(in: rule.query) {
                    let series = await Self.query(prometheus, metric).series
                    #expect(!series.isEmpty, "\(rule.name) reads \(metric), which Prometheus does not hold")
                }
            }
        }

        // MARK: - The dashboards as Grafana would query them

        struct Query {
            var dashboard: String
            var panel: String
            /// The expression with the template variables substituted.
            var expr: String
            /// The label its legend names each series by (instance, owner), if one.
            var legendLabel: String?
        }

        struct Variable {
            /// The series selector of `label_values(selector, label)`, substituted.
            var selector: String
            var label: String
        }

        struct Dashboard {
            var title: String
            var queries: [Query]
            var variables: [Variable]
        }

        /// Grafana's substitutions for "All members": `$__rate_interval` is at least four scrape
        /// intervals of the data source (Grafana's default 15 s: 1m), `$job` is the job that scrapes
        /// the members, and `$instance`'s "All" value is `.+`.
        static func substitute(_ expr: String) -> String {
            expr.replacingOccurrences(of: "$__rate_interval", with: "1m")
                .replacingOccurrences(of: "$job", with: "agentd")
                .replacingOccurrences(of: "$instance", with: ".+")
        }

        static func dashboards() throws -> [Dashboard] {
            let directory = operations + "dashboards/"
            return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }
                .sorted().map { file in
                    let object = try JSONSerialization.jsonObject(
                        with: Data(contentsOf: URL(fileURLWithPath: directory + file)))
                    let dashboard = try #require(object as? [String: Any], "\(file)")
                    let title = dashboard["title"] as? String ?? file
                    let panels = try #require(dashboard["panels"] as? [[String: Any]], "\(file): panels")
                    let queries = panels.flatMap { panel in
                        (panel["targets"] as? [[String: Any]] ?? []).map { target in
                            let legend = target["legendFormat"] as? String ?? ""
                            let expr = target["expr"] as? String ?? ""
                            // Per member: a legend led by the member (its `instance`), or naming the owner.
                            let perMember = legend.hasPrefix("{{instance}}") && expr.contains("$instance")
                            return Query(
                                dashboard: title, panel: panel["title"] as? String ?? "?", expr: substitute(expr),
                                legendLabel: legend.contains("{{owner}}") ? "owner" : perMember ? "instance" : nil)
                        }
                    }
                    let templating = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
                    let variables = templating.compactMap { variable -> Variable? in
                        guard let definition = variable["definition"] as? String,
                            definition.hasPrefix("label_values("), let comma = definition.lastIndex(of: ",")
                        else { return nil }
                        let selector = definition[definition.index(definition.startIndex, offsetBy: 13)..<comma]
                        let label = definition[definition.index(after: comma)...].dropLast()
                            .trimmingCharacters(in: .whitespaces)
                        return Variable(selector: substitute(String(selector)), label: label)
                    }
                    #expect(!queries.isEmpty, "\(file) has no queries")
                    #expect(queries.allSatisfy { !$0.expr.contains("$") }, "\(file): a variable not substituted")
                    return Dashboard(title: title, queries: queries, variables: variables)
                }
        }

        /// Why `answer` is not what the panel needs, or nil: an error, no series, or (per member)
        /// a member missing.
        static func problem(
            with answer: (series: [[String: String]], error: String?), of query: Query, members: [String],
            addresses: [String]
        ) -> String? {
            if let error = answer.error { return error }
            if answer.series.isEmpty { return "no series" }
            switch query.legendLabel {
            case "instance":
                let seen = Set(answer.series.compactMap { $0["instance"] })
                if !Set(addresses).isSubset(of: seen) { return "members seen: \(seen.sorted())" }
            case "owner":
                let seen = Set(answer.series.compactMap { $0["owner"] })
                if !Set(members).isSubset(of: seen) { return "owners seen: \(seen.sorted())" }
            default: break
            }
            return nil
        }

        // MARK: - Prometheus's HTTP API

        /// An instant query now: the result's label sets, or the error Prometheus gave.
        static func query(_ prometheus: PrometheusReceiver, _ expr: String) async -> (
            series: [[String: String]], error: String?
        ) {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            let encoded = expr.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
            guard let (status, body) = await httpGet(prometheus.url + "/api/v1/query?query=" + encoded, timeout: 10)
            else { return ([], "Prometheus did not answer") }
            guard status == 200,
                let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                object["status"] as? String == "success", let data = object["data"] as? [String: Any]
            else { return ([], "HTTP \(status): \(body.prefix(500))") }
            let result = data["result"] as? [[String: Any]] ?? []
            return (result.map { $0["metric"] as? [String: String] ?? [:] }, nil)
        }

        /// The alerting rules Prometheus loaded: name, query, health and last error.
        static func rules(_ prometheus: PrometheusReceiver) async -> [(
            name: String, query: String, health: String, error: String
        )] {
            guard let (status, body) = await httpGet(prometheus.url + "/api/v1/rules?type=alert", timeout: 10),
                status == 200, let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                let groups = (object["data"] as? [String: Any])?["groups"] as? [[String: Any]]
            else { return [] }
            return groups.flatMap { $0["rules"] as? [[String: Any]] ?? [] }.map { rule in
                (
                    rule["name"] as? String ?? "", rule["query"] as? String ?? "", rule["health"] as? String ?? "",
                    rule["lastError"] as? String ?? ""
                )
            }
        }

        // MARK: - Reading the files

        /// The values of `key:` lines in a YAML file (`- alert: X`, `alertname: X`).
        static func values(of key: String, in yaml: String) -> [String] {
            yaml.split(separator: "\n").compactMap { line in
                var text = line.trimmingCharacters(in: .whitespaces)
                if text.hasPrefix("- ") { text.removeFirst(2) }
                guard text.hasPrefix(key + ": ") else { return nil }
                return text.dropFirst(key.count + 2).trimmingCharacters(in: .whitespaces)
            }
        }

        /// The agentd, cluster and Prometheus metric names an expression reads.
        static func metricNames(in expr: String) -> Set<String> {
            var names: Set<String> = []
            var word = ""
            for character in expr + " " {
                if character.isLetter || character.isNumber || character == "_" {
                    word.append(character)
                    continue
                }
                if ["agentd_", "cluster_", "prometheus_"].contains(where: word.hasPrefix) { names.insert(word) }
                word = ""
            }
            return names
        }
    }
}
