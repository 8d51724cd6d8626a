import Foundation
import Testing

@testable import Config

@Suite("ComponentDeclaration")
struct ComponentDeclarationTests {
    static let source = """
        discovery.file "nodes" {
        	files = ["/tmp/targets.json"]
        }

        discovery.relabel "nodes" {
        	targets = discovery.file.nodes.targets
        	rule {
        		target_label = "job"
        		replacement  = "nodes"
        	}
        }

        prometheus.scrape "nodes" {
        	targets    = discovery.relabel.nodes.output
        	forward_to = [prometheus.remote_write.default.receiver]
        	bearer_token = sys.env("TOKEN")
        }

        prometheus.remote_write "default" {
        	endpoint {
        		url     = "http://127.0.0.1:9090/api/v1/write"
        		headers = {"X-Scope-OrgID" = "tenant-1"}
        		basic_auth {
        			username = "agent"
        			password = "hunter2"
        		}
        	}
        }

        """

    private func parse() throws -> AgentConfig {
        try AgentConfig.parse(
            source: Self.source,
            context: EvaluationContext(hostname: "h", nodeName: "n", environment: ["TOKEN": "t0ken"]))
    }

    private func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test func everyComponentIsDeclaredWithItsDataFlow() throws {
        let config = try parse()
        let file = ComponentID(name: "discovery.file", label: "nodes")
        let relabel = ComponentID(name: "discovery.relabel", label: "nodes")
        let scrape = ComponentID(name: "prometheus.scrape", label: "nodes")
        let write = ComponentID(name: "prometheus.remote_write", label: "default")
        #expect(Set(config.declarations.keys) == [file, relabel, scrape, write])
        #expect(config.declarations[relabel]?.references == [file])
        #expect(config.declarations[relabel]?.takesFrom == [file])
        #expect(config.declarations[scrape]?.references == [relabel, write])
        #expect(config.declarations[scrape]?.takesFrom == [relabel])
        #expect(config.declarations[scrape]?.sendsTo == [write])
        #expect(config.declarations[write]?.references == [])
    }

    @Test func argumentsAreEvaluatedInAlloysShapeWithSecretsRedacted() throws {
        let config = try parse()
        let write = try #require(config.declarations[ComponentID(name: "prometheus.remote_write", label: "default")])
        let text = try json(write.arguments)
        #expect(!text.contains("hunter2"))
        #expect(!text.contains("tenant-1"))
        #expect(
            text.contains(
                #"{"name":"password","type":"attr","value":{"type":"capsule","value":"(secret)"}}"#))
        #expect(text.contains(#"{"name":"username","type":"attr","value":{"type":"string","value":"agent"}}"#))
        #expect(text.contains(#"{"key":"X-Scope-OrgID","value":{"type":"capsule","value":"(secret)"}}"#))
        #expect(text.hasPrefix(#"[{"body":[{"name":"url","type":"attr""#))

        let scrape = try #require(config.declarations[ComponentID(name: "prometheus.scrape", label: "nodes")])
        let scrapeText = try json(scrape.arguments)
        #expect(!scrapeText.contains("t0ken"), "a secret from sys.env is redacted too")
        #expect(scrapeText.contains(#"{"type":"capsule","value":"discovery.relabel.nodes.output"}"#))
        #expect(
            scrapeText.contains(
                #"{"type":"array","value":[{"type":"capsule","value":"prometheus.remote_write.default.receiver"}]}"#))
    }
}
