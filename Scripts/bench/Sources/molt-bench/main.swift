import CZlib
import Dispatch
import Foundation
import MoltCore
import MoltFormat
import MoltKernels
import MoltQuant

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func best(of runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var fastest = Double.infinity
    for _ in 0..<runs { fastest = min(fastest, try seconds(body)) }
    return fastest
}

var state: UInt64 = 42
func normal() -> Float {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    let u = max(Float(state >> 40) / Float(1 << 24), 1e-7)
    state = state &* 6364136223846793005 &+ 1442695040888963407
    let v = Float(state >> 40) / Float(1 << 24)
    return 0.02 * (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
}

let cores = ProcessInfo.processInfo.activeProcessorCount
let arguments = Set(CommandLine.arguments.dropFirst())

func median(of runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<runs { times.append(try seconds(body)) }
    return times.sorted()[runs / 2]
}

// Quantization: a [6144, 1152] bf16 matrix (an expert's fc1 in BlackMamba-1.5B), read in place
// as writeQuantized reads it, on every instruction-set path. Pin to one core (taskset -c 0)
// for the per-core figures of Formats/quantization.md.
if arguments.isEmpty || arguments.contains("quant") {
    let rows = 6144, columns = 1152, runs = 5
    let matrix = (0..<rows * columns).map { _ in FloatBits.floatToBF16(normal()) }
    let megabytes = Double(rows * columns * 2) / 1e6
    print("quantization of [\(rows), \(columns)] bf16 (\(Int(megabytes)) MB), normal values, \(cores) cores, median of \(runs):")
    for type in QuantType.allCases {
        for method in QuantMethod.allCases {
            for path in Quantizer.paths {
                let layout = try QuantLayout(type: type, rows: rows, columns: columns, groupSize: 32)
                let out = UnsafeMutableRawPointer.allocate(byteCount: layout.byteCount, alignment: 64)
                defer { out.deallocate() }
                var error = QuantError()
                let time = try median(of: runs) {
                    error = try matrix.withUnsafeBytes {
                        try Quantizer.quantizeRows($0.baseAddress!, dtype: .bf16, rows: rows, layout: layout, method: method, path: path, into: out)
                    }
                }
                print(String(format: "  %@ %@ %@: %.0f MB/s of bf16, %.0f M values/s, rel_rms %.5f, sqnr %.2f dB", type.rawValue, method.rawValue,
                             path.description, megabytes / time, Double(rows * columns) / 1e6 / time, error.relativeRMS, error.sqnrDB ?? 0))
            }
        }
    }
}

// Matrix-vector products as a decode step runs them (q4 with int8 activations, q8 with int16,
// bf16 with f32), per kernel path, 1 and 2 threads, and 2 and 4 vectors at once on 1: GB/s of weight bytes over distinct copies
// of an expert's fc1 [6144, 1152] totalling ~384 MB, so every product reads DRAM, next to the
// read-bandwidth probe of the same run. Under the bench lock: `flock /work/bench.lock ...`.
if arguments.isEmpty || arguments.contains("matvec") {
    let rows = 6144, columns = 1152, total = 384 << 20, passes = 7
    let source = (0..<rows * columns).map { _ in FloatBits.floatToBF16(normal()) }
    let x = (0..<columns).map { _ in normal() * 50 }
    let probe = (1...2).map { MemoryBandwidth.read(threads: $0, pages: .small)?.bytesPerSecond ?? 0 }
    print(String(format: "matvec [%d, %d], %d MB of copies, median of %d passes; read-bandwidth probe %.1f GB/s (1 thread), %.1f GB/s (2)",
                 rows, columns, total >> 20, passes, probe[0] / 1e9, probe[1] / 1e9))
    let cases: [(MoltTensorType, ActivationPrecision)] = [(.q4, .int8), (.q8, .int16), (.q8, .int8), (.bf16, .float32)]
    for (element, activations) in cases {
        let bytes = try element.quantType.map { try QuantLayout(type: $0, rows: rows, columns: columns, groupSize: 32).byteCount }
            ?? rows * columns * 2
        let copies = max(2, total / bytes)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: copies * bytes, alignment: 64)
        defer { buffer.deallocate() }
        if let type = element.quantType {
            let layout = try QuantLayout(type: type, rows: rows, columns: columns, groupSize: 32)
            _ = try source.withUnsafeBytes {
                try Quantizer.quantizeRows($0.baseAddress!, dtype: .bf16, rows: rows, layout: layout, method: .nearest, into: buffer)
            }
        } else {
            source.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes) }
        }
        for c in 1..<copies { (buffer + c * bytes).copyMemory(from: buffer, byteCount: bytes) }
        let matrices = try (0..<copies).map {
            try WeightMatrix(element: element, rows: rows, columns: columns, groupSize: element.quantType == nil ? 0 : 32,
                             pointer: buffer + $0 * bytes, byteCount: bytes)
        }
        var y = [Float](repeating: 0, count: rows)
        let xs = (0..<4 * columns).map { _ in normal() * 50 }
        var ys = [Float](repeating: 0, count: 4 * rows)
        // The first 512 rows (under 1 MB), over and over on one thread, timed by that thread's
        // CPU clock: what a core can consume from L2, unaffected by other processes taking
        // turns on the machine. Below half the DRAM probe, a path cannot keep up with DRAM.
        let hot = try WeightMatrix(element: element, rows: 512, columns: columns, groupSize: element.quantType == nil ? 0 : 32,
                                   pointer: buffer, byteCount: bytes / rows * 512)
        let single = KernelThreads(count: 1)
        func cpuSeconds() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        for path in KernelPath.supported {
            var line = String(format: "  %@ %@ activations, %@:", element.rawValue, "\(activations)", path.description)
            for threads in [1, 2] {
                let pool = KernelThreads(count: threads)
                let time = median(of: passes) {
                    for m in matrices { m.matvec(x, &y, threads: pool, path: path, activations: activations) }
                }
                line += String(format: " %d thread%@ %.1f GB/s", threads, threads == 1 ? "" : "s", Double(copies * bytes) / 1e9 / time)
            }
            // Several vectors in one product (a decode step of that many sequences), one
            // thread: weight bytes times vectors per second, the rate each vector would need
            // alone to keep up.
            for count in [2, 4] {
                let time = median(of: passes) {
                    xs.withUnsafeBufferPointer { x in
                        ys.withUnsafeMutableBufferPointer { y in
                            for m in matrices {
                                m.matvec(x.baseAddress!, y.baseAddress!, count: count, threads: single, path: path,
                                         activations: activations)
                            }
                        }
                    }
                }
                line += String(format: "; %d vectors %.1f GB/s per vector", count, Double(copies * bytes * count) / 1e9 / time)
            }
            var rates: [Double] = []
            for _ in 0..<passes {
                let start = cpuSeconds()
                for _ in 0..<200 { hot.matvec(x, &y, threads: single, path: path, activations: activations) }
                rates.append(Double(200 * hot.byteCount) / 1e9 / (cpuSeconds() - start))
            }
            line += String(format: "; from L2, per core %.1f GB/s", rates.sorted()[passes / 2])
            print(line)
        }
    }
}

// zlib crc32: one thread, and two threads over halves joined with crc32_combine.
if arguments.isEmpty || arguments.contains("crc") {
    let size = 512 << 20
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    defer { buffer.deallocate() }
    for i in 0..<size / 8 { buffer.storeBytes(of: UInt64(i) &* 0x9E37_79B9_7F4A_7C15, toByteOffset: i * 8, as: UInt64.self) }
    let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
    var single: UInt = 0
    let one = best(of: 3) { single = crc32(0, base, UInt32(size)) }
    var halves = [UInt](repeating: 0, count: 2)
    let two = best(of: 3) {
        halves.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            DispatchQueue.concurrentPerform(iterations: 2) { i in out[i] = crc32(0, base + i * size / 2, UInt32(size / 2)) }
        }
    }
    let combined = crc32_combine(halves[0], halves[1], size / 2)
    precondition(combined == single)
    print(String(format: "crc32 over %d MB: 1 thread %.0f MB/s, 2 threads + crc32_combine %.0f MB/s", size >> 20, Double(size) / 1e6 / one, Double(size) / 1e6 / two))
}

// A ~1 GB model-shaped file: f32 embedding, 15 MoE layers x 8 experts with q4 weights.
if arguments.isEmpty || arguments.contains("file") {
    let directory = NSTemporaryDirectory() + "molt-bench-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/big.molt"
    let hidden = 1152, ffn = 3072, vocab = 50304
    func tensor(_ shape: [Int]) throws -> Tensor {
        let count = shape.reduce(1, *)
        let values = (0..<count).map { _ in normal() }
        return try Tensor(storage: values.withUnsafeBytes { Storage(copying: $0) }, dtype: .f32, shape: shape)
    }
    let fc1 = try tensor([2 * ffn, hidden]), fc2 = try tensor([hidden, ffn]), embedding = try tensor([vocab, hidden])
    let bias1 = try tensor([2 * ffn]), bias2 = try tensor([hidden]), norm = try tensor([hidden]), router = try tensor([8, hidden])
    var layers: [BlackMambaConfig.Layer] = []
    let write = try seconds {
        let writer = try MoltWriter(sink: FileDescriptorSink(creating: path))
        try writer.append(TensorNames.embedding, embedding, as: .f32)
        for i in 0..<30 {
            try writer.append(TensorNames.norm(i), norm, as: .f32)
            if i % 2 == 0 {
                layers.append(.mamba)
                continue
            }
            layers.append(.moe(experts: 8))
            try writer.append(TensorNames.router(i, "weight"), router, as: .f32)
            for e in 0..<8 {
                try writer.append(TensorNames.expert(i, e, "linear_fc1.weight"), fc1, as: .q4)
                try writer.append(TensorNames.expert(i, e, "linear_fc1.bias"), bias1, as: .f32)
                try writer.append(TensorNames.expert(i, e, "linear_fc2.weight"), fc2, as: .q4)
                try writer.append(TensorNames.expert(i, e, "linear_fc2.bias"), bias2, as: .f32)
            }
        }
        let config = BlackMambaConfig(
            hiddenSize: hidden, stateSize: 16, convDimension: 4, expansionFactor: 2, ffnHiddenSize: ffn, vocabSize: 50277,
            layers: layers, addBiasLinear: true, swiglu: true, vocabRows: vocab)
        try writer.finish(MoltHeaderInfo(
            tool: .init(name: "molt-bench", version: "0"), model: config,
            provenance: .init(created: "2025-01-01T00:00:00Z", sources: [])))
    }
    let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    var file: MoltFile?
    let open = try best(of: 30) { file = try MoltFile(path: path) }
    let verify = try best(of: 2) { try file!.verifyChecksums() }
    print(String(format: "file: %.2f GB, %d tensors, header %d KB; written in %.1f s; open %.2f ms; verifyChecksums %.0f MB/s",
        Double(size) / 1e9, file!.header.tensors.count, (size - file!.headerOffset) >> 10, write, open * 1000, Double(size) / 1e6 / verify))
}
