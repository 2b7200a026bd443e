/// How the reader treats each global a pickle names (GLOBAL, STACK_GLOBAL).
///
/// Nothing a pickle names is ever called, so unknown globals are harmless placeholders. The
/// deny-list exists so that a file whose only purpose is running code fails loudly, naming the
/// global and its offset, instead of loading as a dict with odd placeholders in it.
public enum GlobalPolicy {
    public enum Verdict: Equatable, Sendable {
        /// Names something whose only use in a pickle is running code: the pickle is refused.
        case refused
        /// Given meaning by `TorchPickle` (rebuild functions, storage classes, dtypes, ...).
        case interpreted
        /// Anything else: calls on it make inert `PickleObject`s.
        case placeholder
    }

    /// Modules refused whole, submodules included: process, file, network, import, code and
    /// (un)serialization machinery.
    public static let refusedModules: Set<String> = [
        "os", "posix", "nt", "posixpath", "ntpath", "sys", "subprocess", "_posixsubprocess",
        "commands", "popen2", "runpy", "pty", "socket", "_socket", "ssl", "shutil", "importlib",
        "imp", "zipimport", "pkgutil", "pickle", "_pickle", "cPickle", "marshal", "shelve", "dill",
        "cloudpickle", "joblib", "yaml", "ctypes", "_ctypes", "cffi", "code", "codeop",
        "multiprocessing", "_multiprocessing", "concurrent", "signal", "_signal", "webbrowser",
        "urllib", "urllib2", "http", "httplib", "ftplib", "smtplib", "telnetlib", "xmlrpc",
        "requests", "asyncio", "threading", "_thread", "thread", "io", "_io", "StringIO",
        "cStringIO", "pathlib", "tempfile", "glob", "fcntl", "select", "selectors", "mmap",
        "resource", "pdb", "bdb", "timeit", "trace", "cProfile", "profile", "pydoc", "doctest",
        "distutils", "setuptools", "pip", "venv", "ensurepip", "site", "platform", "gc",
        "_winapi", "msvcrt", "winreg", "_winreg",
        // torch machinery that loads, compiles or runs code or other files.
        "torch.hub", "torch._C", "torch.jit", "torch.package", "torch.utils.cpp_extension",
        "torch.fx", "torch.distributed.rpc", "torch.distributed.elastic", "torch.distributed.run",
        "torch.distributed.launch", "torch.multiprocessing",
        "torch._dynamo", "torch._inductor", "torch._ops", "torch.ops", "torch.library",
        "torch.classes", "torch._classes",
        "numpy.lib.npyio", "numpy.lib.format", "numpy.ctypeslib", "numpy.f2py",
        "numpy.distutils", "numpy.testing",
    ]

    /// Single functions refused, as "module.name" (after py2 names are mapped to py3).
    public static let refusedNames: Set<String> = [
        "builtins.eval", "builtins.exec", "builtins.compile", "builtins.getattr",
        "builtins.setattr", "builtins.delattr", "builtins.__import__", "builtins.open",
        "builtins.input", "builtins.breakpoint", "builtins.globals", "builtins.locals",
        "builtins.vars", "builtins.exit", "builtins.quit", "builtins.help", "builtins.memoryview",
        "builtins.__build_class__", "builtins.execfile", "builtins.reload", "builtins.file",
        "builtins.raw_input", "builtins.apply",
        "operator.attrgetter", "operator.methodcaller", "operator.call",
        "_operator.attrgetter", "_operator.methodcaller", "_operator.call",
        "functools.partial", "functools.partialmethod", "functools.reduce",
        "_functools.partial", "_functools.reduce",
        "types.FunctionType", "types.LambdaType", "types.CodeType", "types.MethodType",
        "types.BuiltinFunctionType", "types.BuiltinMethodType",
        "torch.load", "torch.save", "torch.compile", "torch.storage._load_from_bytes",
        "torch.serialization.load", "torch.serialization._load", "torch.serialization._legacy_load",
        "torch.serialization.save", "torch.serialization._save", "torch.serialization._legacy_save",
        "numpy.load",
    ]

    /// Globals `TorchPickle` gives meaning to, as "module.name".
    static let interpreted: Set<String> = {
        var names: Set<String> = [
            "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
            "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_parameter",
            "torch._utils._rebuild_parameter_with_state", "torch._tensor._rebuild_from_type_v2",
            "torch.storage.UntypedStorage", "torch.UntypedStorage",
            "torch.Size", "torch.Tensor", "torch.nn.parameter.Parameter",
            "collections.OrderedDict", "builtins.set", "builtins.frozenset", "builtins.complex",
            "builtins.bytearray", "_codecs.encode",
        ]
        names.formUnion(TorchPickle.plainData)
        for name in TorchPickle.storageClasses.keys {
            names.insert("torch.\(name)")
            names.insert("torch.cuda.\(name)")
        }
        for name in TorchPickle.dtypes.keys { names.insert("torch.\(name)") }
        return names
    }()

    /// Python 2 module names a protocol 0-2 pickle may use, mapped as Python 3's unpickler
    /// maps them (`_compat_pickle`), so the deny-list sees through them.
    static let python2Modules: [String: String] = [
        "__builtin__": "builtins", "copy_reg": "copyreg", "cPickle": "pickle",
        "commands": "subprocess", "urllib2": "urllib.request", "httplib": "http.client",
        "StringIO": "io", "cStringIO": "io", "thread": "_thread", "exceptions": "builtins",
    ]

    /// The Python 3 spelling of a global: modules renamed and `__builtin__.reduce`-style
    /// names moved as `_compat_pickle` moves them.
    public static func normalize(module: String, name: String) -> (module: String, name: String) {
        switch (module, name) {
        case ("__builtin__", "reduce"): return ("functools", "reduce")
        case ("__builtin__", "intern"): return ("sys", "intern")
        default: return (python2Modules[module] ?? module, name)
        }
    }

    /// The verdict for a (normalized) global.
    public static func verdict(module: String, name: String) -> Verdict {
        if isRefused(module: module, name: name) { return .refused }
        return interpreted.contains("\(module).\(name)") ? .interpreted : .placeholder
    }

    private static func isRefused(module: String, name: String) -> Bool {
        let moduleParts = module.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let nameParts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let path = moduleParts + nameParts
        // Protocol 4 resolves dotted names attribute by attribute: `torch` + `os.system`
        // reaches os.system through torch's own `import os`, and `x.__globals__` reaches
        // anything. So a dotted name is also checked from each attribute on, and may not
        // touch dunder attributes.
        if nameParts.count > 1,
            nameParts.contains(where: { $0.count > 4 && $0.hasPrefix("__") && $0.hasSuffix("__") })
        {
            return true
        }
        // Module names are matched from the start of the path (a package's own submodule
        // called `io` is not the standard library's), and again from each attribute on.
        let starts = [0] + Array(moduleParts.count..<max(moduleParts.count, path.count - 1))
        for start in starts {
            for end in (start + 1)...path.count where refusedModules.contains(path[start..<end].joined(separator: ".")) {
                return true
            }
            if start < path.count - 1 {
                let owner = path[start..<path.count - 1].joined(separator: ".")
                if refusedNames.contains("\(owner).\(path[path.count - 1])") { return true }
            }
        }
        return false
    }
}
