import Foundation
import Testing

@testable import Scrape

@Suite("FileDiscovery")
struct FileDiscoveryTests {
    /// A fresh directory per test, removed afterwards.
    private final class TemporaryDirectory {
        let path: String

        init() throws {
            path = NSTemporaryDirectory() + "file-discovery-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }

        deinit {
            try? FileManager.default.removeItem(atPath: path)
        }

        @discardableResult
        func write(_ name: String, _ contents: String) throws -> String {
            let file = path + "/" + name
            try contents.write(toFile: file, atomically: true, encoding: .utf8)
            return file
        }
    }

    @Test func jsonGroupsBecomeTargetsWithAddressLabelsAndFilepath() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write(
            "nodes.json",
            """
            [
              {"targets": ["10.0.0.1:9100", "10.0.0.2:9100"], "labels": {"env": "prod", "team": "st\\u00f6rage"}},
              {"targets": ["10.0.0.3:9100"]}
            ]
            """)
        let discovery = try FileDiscovery(files: [directory.path + "/*.json"])
        #expect(
            try discovery.targets() == [
                ["__address__": "10.0.0.1:9100", "env": "prod", "team": "störage", "__meta_filepath": file],
                ["__address__": "10.0.0.2:9100", "env": "prod", "team": "störage", "__meta_filepath": file],
                ["__address__": "10.0.0.3:9100", "__meta_filepath": file],
            ])
    }

    @Test func yamlGroupsAreReadTheSameWay() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write(
            "nodes.yml",
            """
            - targets: ['10.0.0.1:9100']
              labels:
                env: prod
                rack: 7
            - targets:
                - 10.0.0.2:9100
            """)
        let discovery = try FileDiscovery(files: [file])
        #expect(
            try discovery.targets() == [
                ["__address__": "10.0.0.1:9100", "env": "prod", "rack": "7", "__meta_filepath": file],
                ["__address__": "10.0.0.2:9100", "__meta_filepath": file],
            ])
    }

    @Test func globPatternsMatchStarAndQuestionMarkInTheLastComponent() throws {
        let directory = try TemporaryDirectory()
        try directory.write("a1.json", #"[{"targets": ["a1:1"]}]"#)
        try directory.write("a2.json", #"[{"targets": ["a2:1"]}]"#)
        try directory.write("b10.json", #"[{"targets": ["b10:1"]}]"#)
        try directory.write("a3.yml", "- targets: ['a3:1']")
        let discovery = try FileDiscovery(files: [directory.path + "/a?.json", directory.path + "/b*.json"])
        #expect(try discovery.targets().map { $0["__address__"] } == ["a1:1", "a2:1", "b10:1"])
    }

    @Test(arguments: ["targets.txt", "dir*/targets.json", "targets"])
    func patternsPrometheusRejectsAreRejected(pattern: String) {
        #expect(throws: FileDiscoveryError.self) {
            try FileDiscovery(files: [pattern])
        }
    }

    @Test func jsonErrorsNameTheFileLineAndColumn() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write(
            "bad.json",
            """
            [
              {"targets": ["a:1"],
               "labels": {"env": 1}}
            ]
            """)
        let error = #expect(throws: FileDiscoveryError.self) {
            try FileDiscovery(files: [file]).targets()
        }
        #expect(error?.description == "\(file):3:22: expected a string label value, found scalar")
    }

    @Test func jsonSyntaxErrorsPointAtTheOffendingCharacter() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("bad.json", "[\n  {\"targets\": [\"a:1\" \"b:1\"]}\n]")
        let error = #expect(throws: FileDiscoveryError.self) {
            try FileDiscovery(files: [file]).targets()
        }
        #expect(error?.position == FilePosition(line: 2, column: 22))
        #expect(error?.message == "expected \"]\", found \"\"\"")
    }

    @Test func yamlErrorsNameTheFileLineAndColumn() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write(
            "bad.yaml",
            """
            - targets: ['a:1']
              labels:
                bad-name: x
            """)
        let error = #expect(throws: FileDiscoveryError.self) {
            try FileDiscovery(files: [file]).targets()
        }
        #expect(error?.description == "\(file):3:15: \"bad-name\" is not a valid label name")
    }

    @Test func yamlRejectsUnknownFieldsLikePrometheus() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("bad.yaml", "- targets: ['a:1']\n  label: {a: b}\n")
        let error = #expect(throws: FileDiscoveryError.self) {
            try FileDiscovery(files: [file]).targets()
        }
        #expect(error?.message.contains("unknown field \"label\"") == true)
        #expect(error?.position?.line == 2)
    }

    @Test func yamlSyntaxErrorsCarryLibyamlsPosition() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("bad.yml", "- targets: ['a:1'\n- x")
        let error = #expect(throws: FileDiscoveryError.self) {
            try FileDiscovery(files: [file]).targets()
        }
        #expect(error?.path == file)
        #expect(error?.position != nil)
    }

    @Test func aFileThatStopsParsingKeepsItsPreviousTargets() throws {
        let directory = try TemporaryDirectory()
        let good = try directory.write("good.json", #"[{"targets": ["g:1"]}]"#)
        let flaky = try directory.write("flaky.json", #"[{"targets": ["f:1"]}]"#)
        var state = FileDiscoveryState()
        #expect(state.refresh(files: [flaky, good], rereadAll: true).isEmpty)
        #expect(state.targets.map { $0["__address__"] } == ["f:1", "g:1"])

        try directory.write("flaky.json", #"[{"targets": ["f:1", "#)
        let errors = state.refresh(files: [flaky, good], rereadAll: false)
        #expect(errors.map(\.path) == [flaky])
        #expect(state.targets.map { $0["__address__"] } == ["f:1", "g:1"])

        try directory.write("flaky.json", #"[{"targets": ["f:2"]}]"#)
        #expect(state.refresh(files: [flaky, good], rereadAll: false).isEmpty)
        #expect(state.targets.map { $0["__address__"] } == ["f:2", "g:1"])

        #expect(state.refresh(files: [good], rereadAll: false).isEmpty)
        #expect(state.targets.map { $0["__address__"] } == ["g:1"])
    }

    @Test(.timeLimit(.minutes(1)))
    func updatesEmitTheInitialTargetsAndEachChange() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("a.json", #"[{"targets": ["a:1"]}]"#)
        let discovery = try FileDiscovery(files: [directory.path + "/*.json"])
        var iterator = discovery.updates(interval: .milliseconds(20)).makeAsyncIterator()

        #expect(await iterator.next()?.map { $0["__address__"] } == ["a:1"])
        try directory.write("b.json", #"[{"targets": ["b:1"]}]"#)
        #expect(await iterator.next()?.map { $0["__address__"] } == ["a:1", "b:1"])
        try directory.write("a.json", #"[{"targets": ["a:2", "a:3"]}]"#)
        #expect(await iterator.next()?.map { $0["__address__"] } == ["a:2", "a:3", "b:1"])
        try FileManager.default.removeItem(atPath: directory.path + "/b.json")
        #expect(await iterator.next()?.map { $0["__address__"] } == ["a:2", "a:3"])
    }

    @Test(.timeLimit(.minutes(1)))
    func updatesReportErrorsAndKeepTheLastGoodTargets() async throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("a.json", #"[{"targets": ["a:1"]}]"#)
        let (errors, reported) = AsyncStream.makeStream(of: FileDiscoveryError.self)
        let discovery = try FileDiscovery(files: [file])
        var iterator = discovery.updates(interval: .milliseconds(20)) { reported.yield($0) }.makeAsyncIterator()
        #expect(await iterator.next()?.count == 1)

        try directory.write("a.json", "[{")
        var errorIterator = errors.makeAsyncIterator()
        #expect(await errorIterator.next()?.path == file)
        try directory.write("a.json", #"[{"targets": ["a:9"]}]"#)
        #expect(await iterator.next()?.map { $0["__address__"] } == ["a:9"])
    }
}
