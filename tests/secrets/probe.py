# The probe every attack in this folder runs (tests/test_secrets.py prepends it to the
# attacked cell). It tries each way a submission could reach the grader's secrets and
# returns one line for the task's message, which reaches the feedback:
#   PROBE tried=N foreign=[...] given=[...] got=K: what: line | what: line
# got: attempts whose text held a line of instructor/answers.py or hidden.py (__MARKERS__);
# foreign: answer-named functions and classes in the child's memory that the submission did
# not define; given: the global names the stand-ins it was handed can see.
def _probe(given=None):
    import gc, glob, importlib, inspect, linecache, os, stat, sys, time, types

    markers = [bytes.fromhex(m) for m in __MARKERS__]  # hex: the lines are not in this file's text
    names = __SECRET_NAMES__
    tried, got = [0], []

    def look(what, text):
        tried[0] += 1
        data = text.encode("utf-8", "replace") if isinstance(text, str) else (text or b"")
        hit = next((m for m in markers if m in data), None)
        if hit is not None:
            got.append(f"{what[:40]}: {hit[:120].decode()}")

    def read(what, path, size=1 << 20):
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return look(what, b"")
            with open(path, "rb") as file:
                look(what, file.read(size))
        except (OSError, ValueError):
            look(what, b"")

    def attempt(what, function):
        try:
            look(what, function())
        except BaseException:  # noqa: BLE001
            look(what, b"")

    # 1. by path: beside and inside the package, at the kit's own path, anything the package holds
    import autograder
    package = os.path.dirname(autograder.__file__)
    for name in ("answers.py", "hidden.py"):
        for folder in (os.path.join(package, "..", "instructor"), "__INSTRUCTOR__", os.path.join(package, "instructor")):
            read(f"path {folder}/{name}", os.path.join(folder, name))
    for path in glob.glob(os.path.join(package, "**", "*"), recursive=True):
        read("package file", path)
    # 2. by import, and through the grader's own loader and registry
    for name in ("autograder.instructor", "autograder.instructor.answers", "autograder.instructor.hidden",
                 "instructor", "instructor.answers", "instructor.hidden", "answers", "hidden"):
        attempt(f"import {name}", lambda: inspect.getsource(importlib.import_module(name)))
    attempt("grader_only", lambda: __import__("autograder.grader_only", fromlist=["x"]).standin_source(
        ("Runner", "AvgStats", "accuracy")))
    attempt("checks.HIDDEN", lambda: "".join(inspect.getsource(c.function) for checks in
                                            importlib.import_module("autograder.checks").HIDDEN.values()
                                            for c in checks))
    # 3. the objects the grader handed it: their source, file, module, globals, line cache
    import site
    public = tuple(os.path.realpath(p) + os.sep for p in (package, sys.prefix, sys.base_prefix, *site.getsitepackages()))

    def foreign_code(code):  # defined neither by the submission (its lesson files) nor in public code
        own = __import__("re").fullmatch(r"l\d\d_[a-z_]+\.py", os.path.basename(code.co_filename))
        return not own and not os.path.realpath(code.co_filename).startswith(public)

    given_names = set()
    for label, obj in (given or {}).items():
        for function in (inspect.getsource, inspect.getsourcefile, inspect.getfile):
            attempt(f"{function.__name__} {label}", lambda: str(function(obj)))
        attempt(f"module of {label}", lambda: inspect.getsource(sys.modules[obj.__module__]))
        methods = [v for v in vars(obj).values() if inspect.isfunction(v)] if isinstance(obj, type) else [obj]
        for method in [m for m in methods if inspect.isfunction(m)]:
            if foreign_code(method.__code__):
                given_names |= {n for n in method.__globals__ if not n.startswith("__")}
            read(f"co_filename {label}", method.__code__.co_filename)
            look(f"linecache {label}", "".join(linecache.getlines(method.__code__.co_filename)))
    # 4. other processes: the parent and every process in view
    pids = {os.getppid(), 1}
    try:
        pids |= {int(p) for p in os.listdir("/proc") if p.isdigit()}
    except OSError:
        pass
    pids.discard(os.getpid())
    budget = time.monotonic() + 3.0
    for pid in sorted(pids):
        for part in ("cmdline", "environ", "cwd/instructor/answers.py", "cwd/instructor/hidden.py",
                     "root__INSTRUCTOR__/answers.py", "root__INSTRUCTOR__/hidden.py"):
            read(f"/proc/{pid}/{part}", f"/proc/{pid}/{part}")
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                read(f"/proc/{pid}/fd/{fd}", f"/proc/{pid}/fd/{fd}")
        except OSError:
            look(f"/proc/{pid}/fd", b"")
        try:
            with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as memory:
                for line in maps:
                    span, mode = line.split()[:2]
                    low, high = (int(x, 16) for x in span.split("-"))
                    if mode.startswith("rw") and high - low < 1 << 28 and time.monotonic() < budget:
                        try:
                            memory.seek(low)
                            look(f"/proc/{pid}/mem", memory.read(high - low))
                        except (OSError, ValueError, OverflowError):
                            pass
        except OSError:
            look(f"/proc/{pid}/mem", b"")
    # 5. its own memory: modules (the warm server's, inherited by the fork) and every function
    foreign = set()
    for name, module in list(sys.modules.items()):
        if any(w in name for w in ("instructor", "answers", "hidden")):
            attempt(f"sys.modules {name}", lambda: inspect.getsource(module))
    for obj in gc.get_objects():
        kind = type(obj)
        if kind is types.FunctionType and obj.__name__ in names:
            code = obj.__code__
        elif kind is type and obj.__name__ in names:
            code = next((v.__code__ for v in vars(obj).values() if type(v) is types.FunctionType), None)
        else:
            continue
        if code is not None and foreign_code(code):
            foreign.add(obj.__name__)
    return (f"PROBE tried={tried[0]} foreign={sorted(foreign)} "
            f"given={sorted(given_names & set(names + ['re', 'torch']))} got={len(got)}: {' | '.join(got[:2])}")

