import Foundation
import Testing

/// Issue 13: an output renamed into place must survive a power cut as the old file or the
/// complete new one. Watched through strace (Scripts/setup.sh installs it): the temporary
/// file is fsynced before it is linked or renamed to the final name, and the directory after.
@Test func exportSyncsTheFileBeforeTheRenameAndTheDirectoryAfter() throws {
    try MoltBinary.withScratch { scratch in
        let log = scratch.appendingPathComponent("strace.log").path
        let output = scratch.appendingPathComponent("out.safetensors").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/strace")
        process.arguments = ["-f", "-e", "trace=openat,fsync,link,linkat,rename,renameat,renameat2", "-o", log,
            MoltBinary.executable.path, "export", MoltBinary.fixture("a-safetensors"), "-o", output]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)

        /// Index of the first call (at or after `start`) containing every fragment.
        func index(_ fragments: [String], from start: Int = 0) -> Int? {
            calls.indices.first { $0 >= start && fragments.allSatisfy(calls[$0].contains) }
        }
        func descriptor(_ line: String) -> String { String(line.split(separator: "=").last!.trimmingCharacters(in: .whitespaces)) }

        let created = try #require(index([".out.safetensors.molt-tmp-", "O_CREAT"]))
        let placed = try #require(calls.indices.first { i in
            i > created && calls[i].contains("out.safetensors\"") && (calls[i].contains("link") || calls[i].contains("rename"))
        })
        let fileSync = try #require(index(["fsync(\(descriptor(calls[created])))"], from: created + 1))
        #expect(fileSync < placed, "the data must be on disk before the name is")
        let directoryOpen = try #require(index(["O_DIRECTORY"], from: placed + 1))
        #expect(calls[directoryOpen].contains(scratch.path))
        #expect(index(["fsync(\(descriptor(calls[directoryOpen])))"], from: directoryOpen + 1) != nil)
    }
}
