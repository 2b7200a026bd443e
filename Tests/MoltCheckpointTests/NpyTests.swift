import Foundation
import MoltCore
import MoltCheckpoint
import Testing

/// This test process's scratch directory, made on first use and removed when the process exits.
private let scratchDirectory: URL = {
    let directory = scratchURL()
    try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: scratchURL()) }
    return directory
}()

private func scratchURL() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("molt-npy-\(getpid())")
}

private func temporaryPath(_ name: String) -> String {
    scratchDirectory.appendingPathComponent(name).path
}

/// A file made of a version-1.0 preamble, `header` (padded to a newline) and `data`.
private func npyFile(_ name: String, header: String, data: [UInt8], version: [UInt8] = [1, 0], magic: [UInt8]? = nil) -> String {
    var text = Array(header.utf8)
    text += [UInt8](repeating: 0x20, count: (64 - (10 + text.count + 1) % 64) % 64) + [0x0A]
    let bytes = (magic ?? [0x93] + Array("NUMPY".utf8)) + version + [UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text + data
    let path = temporaryPath(name)
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

private func bytes(of values: [Float]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

@Test func roundTripsFloat32InCOrder() throws {
    for shape in [[2, 3], [5], [], [2, 0, 4]] {
        let values = (0..<shape.reduce(1, *)).map { Float($0) * 0.5 - 1 }
        let path = temporaryPath("round-\(shape.count).npy")
        try Npy.write(values, shape: shape, to: path, overwrite: true)
        let read = try Npy.read(path: path)
        #expect(read.dtype == .f32 && read.shape == shape)
        #expect(try read.floatValues() == values)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect((data.count - values.count * 4) % 64 == 0, "data must start at a multiple of 64")
    }
}

@Test func writesTheHeaderNumPyWrites() throws {
    let path = temporaryPath("header.npy")
    try Npy.write([1, 2, 3, 4, 5, 6], shape: [2, 3], to: path, overwrite: true)
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    #expect(Array(data.prefix(10)) == [0x93] + Array("NUMPY".utf8) + [1, 0, 118, 0])
    let header = String(decoding: data[10..<128], as: UTF8.self)
    #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
    #expect(header.hasSuffix(" \n"))
}

@Test func readsFloat64() throws {
    let values: [Double] = [1.5, -2.25, 1e300]
    let path = npyFile("f8.npy", header: "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                       data: values.withUnsafeBytes { Array($0) })
    let read = try Npy.read(path: path)
    #expect(read.dtype == .f64 && read.shape == [3])
    #expect(try read.converted(to: .f64).withContiguousBytes { Array($0.bindMemory(to: Double.self)) } == values)
}

@Test func refusesMalformedFiles() throws {
    let good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    let two = bytes(of: [1, 2])
    let cases: [(String, MoltError.Kind, String)] = [
        (npyFile("magic.npy", header: good, data: two, magic: Array("NUMPYX".utf8)), .badInput, "not a .npy file"),
        (npyFile("version.npy", header: good, data: two, version: [9, 0]), .unsupported, "version 9.0"),
        (npyFile("descr.npy", header: "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data: two), .unsupported, "'>f4'"),
        (npyFile("int.npy", header: "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", data: [UInt8](repeating: 0, count: 8)), .unsupported, "'<i8'"),
        (npyFile("fortran.npy", header: "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data: two), .unsupported, "Fortran"),
        (npyFile("short.npy", header: good, data: bytes(of: [1])), .badInput, "truncated"),
        (npyFile("long.npy", header: good, data: bytes(of: [1, 2, 3])), .badInput, "4 bytes follow"),
        (npyFile("missing.npy", header: "{'descr': '<f4', 'shape': (2,), }", data: two), .badInput, "header keys"),
        (npyFile("extra.npy", header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1, }", data: two), .badInput, "header"),
        (npyFile("twice.npy", header: "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data: two), .badInput, "twice"),
        (npyFile("scalar.npy", header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", data: two), .badInput, "not a tuple"),
        (npyFile("negative.npy", header: "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", data: two), .badInput, "non-negative"),
        (npyFile("huge.npy", header: "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 100000000000), }", data: two), .badInput, "overflows"),
        (npyFile("list.npy", header: "['descr']", data: two), .badInput, "expected '{'"),
    ]
    for (path, kind, fragment) in cases {
        let error = #expect(throws: MoltError.self, "\(path)") { try Npy.read(path: path) }
        #expect(error?.kind == kind, "\(path): \(error?.message ?? "")")
        #expect(error?.message.contains(fragment) == true, "\(path): \(error?.message ?? "")")
        #expect(error?.message.hasPrefix(path) == true, "\(path): \(error?.message ?? "")")
    }
}

@Test func refusesTruncatedPreambles() throws {
    let path = temporaryPath("cut.npy")
    for length in [0, 5, 9] {
        let full = [0x93] + Array("NUMPY".utf8) + [1, 0, 100, 0] + [UInt8](repeating: 0x20, count: 20)
        _ = FileManager.default.createFile(atPath: path, contents: Data(full.prefix(length)))
        let error = #expect(throws: MoltError.self) { try Npy.read(path: path) }
        #expect(error?.kind == .badInput)
    }
    let full = [0x93] + Array("NUMPY".utf8) + [1, 0, 100, 0] + Array("{'descr': '<f4'}\n".utf8)
    _ = FileManager.default.createFile(atPath: path, contents: Data(full))
    let error = #expect(throws: MoltError.self) { try Npy.read(path: path) }
    #expect(error?.message.contains("header says it is 100 bytes") == true)
}

@Test func refusesShapesThatDoNotMatchTheValues() {
    let error = #expect(throws: MoltError.self) { try Npy.write([1, 2, 3], shape: [2, 2], to: temporaryPath("bad.npy"), overwrite: true) }
    #expect(error?.kind == .usage)
}
