"""Tests of the Python binding, against the real libmapfile."""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

import mapfile
from mapfile import MapFile


@pytest.fixture
def pattern_file(tmp_path):
    path = tmp_path / "pattern.bin"
    path.write_bytes(bytes((i * 7 + 3) % 251 for i in range(10 * 4096)))
    return path


def run_in_child(script, *arguments, timeout=120):
    """Runs `script` in a new interpreter with this package importable (its argv[-1]), so that a
    crash fails the test that asked instead of killing the test run."""
    package_dir = os.path.dirname(os.path.dirname(mapfile.__file__))
    return subprocess.run([sys.executable, "-c", script, *map(str, arguments), package_dir],
                          capture_output=True, text=True, timeout=timeout)


def test_version_matches_the_library():
    assert mapfile.version().count(".") == 2
    assert mapfile.library.mapfile_abi_version() == mapfile.ABI_VERSION


def test_read_slices_find_and_count(pattern_file):
    data = pattern_file.read_bytes()
    with MapFile(pattern_file) as m:
        assert len(m) == len(data)
        assert m[0] == data[0] and m[-1] == data[-1]
        assert m[100:200] == data[100:200]
        assert m.read(4090, 20) == data[4090:4110]
        assert m.find(data[5000:5008]) == data.find(data[5000:5008])
        assert m.find(b"\xff\xfe\xfd") == -1
        assert m.find(b"", 17) == 17
        assert m.count(data[0]) == data.count(data[0])
        assert m.count(b"\x05", 10, 9000) == data[10:9000].count(b"\x05")
        with pytest.raises(ValueError):
            m.count(300)
    assert m.closed


def test_view_is_zero_copy_and_read_only_for_read_only(pattern_file):
    with MapFile(pattern_file, "r+") as m:
        view = m.view()
        m.write(10, b"hello")
        assert bytes(view[10:15]) == b"hello"  # the view is the mapping itself
        view[20:25] = b"world"
        assert m.read(20, 5) == b"world"
        del view
    with MapFile(pattern_file) as m:
        view = m.view(0, 100)
        assert view.readonly
        with pytest.raises(TypeError):
            view[0] = 1
        del view


def test_close_refuses_while_views_are_alive(pattern_file):
    m = MapFile(pattern_file)
    view = m.view()
    with pytest.raises(BufferError):
        m.close()
    del view
    m.close()
    with pytest.raises(ValueError):
        len(m)


def test_exceptions_carry_status_errno_and_message(tmp_path, pattern_file):
    with pytest.raises(FileNotFoundError) as caught:
        MapFile(tmp_path / "missing")
    assert isinstance(caught.value, mapfile.NotFoundError)
    assert caught.value.status == mapfile.NOT_FOUND
    assert caught.value.errno == 2
    assert "missing" in caught.value.strerror
    with pytest.raises(FileExistsError):
        MapFile.create(pattern_file, 10)
    with MapFile(pattern_file) as m:
        with pytest.raises(IndexError) as caught:
            m.read(len(m) - 1, 2)
        assert caught.value.status == mapfile.OUT_OF_BOUNDS
        with pytest.raises(mapfile.ReadOnlyError):
            m.write(0, b"x")
    with pytest.raises(ValueError):
        MapFile(pattern_file, "w")


def test_create_write_flush_reopen(tmp_path):
    path = tmp_path / "new.bin"
    with MapFile.create(path, 1 << 20) as m:
        m.write(100, b"Hello, mmap!")
        m.flush()
    assert path.read_bytes()[100:112] == b"Hello, mmap!"
    with MapFile.open_or_create(path, 5) as m:
        assert len(m) == 1 << 20  # never truncated


def test_resize_refresh_and_windows(tmp_path):
    path = tmp_path / "grow.bin"
    with MapFile.create(path, 10) as m:
        m.resize(100000)
        m[99990:100000] = b"0123456789"
        m.flush(99990, 10)
    assert os.path.getsize(path) == 100000
    with MapFile(path, offset=99990, length=5) as window:
        assert window[:] == b"01234"
    with open(path, "ab") as f:
        f.write(b"appended")
    with MapFile(path) as m:
        assert m[-8:] == b"appended"


def test_atomics_across_threads(tmp_path):
    with MapFile.create(tmp_path / "counter", 64) as m:
        def work():
            for _ in range(2000):
                m.atomic_add(8, 1)
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert m.atomic_load(8) == 8000


def test_truncation_raises_instead_of_crashing(pattern_file):
    with MapFile(pattern_file) as m:
        os.truncate(pattern_file, 4096)
        with pytest.raises(mapfile.TruncatedError) as caught:
            m.read(8 * 4096, 10)
        assert caught.value.status == mapfile.TRUNCATED
        assert m[0:4096] == bytes((i * 7 + 3) % 251 for i in range(4096))  # kept bytes still work
        assert m.truncated
        with pytest.raises(mapfile.TruncatedError):
            m.count(b"\n")
        m.refresh()
        assert len(m) == 4096 and not m.truncated


def test_guard_raw_views_read_zeros_after_truncation(pattern_file):
    with MapFile(pattern_file, guard_raw=True) as m:
        view = m.view()
        os.truncate(pattern_file, 0)
        assert bytes(view[-100:]) == bytes(100)
        del view


CRASH_SCRIPT = textwrap.dedent("""
    import mmap, os, sys
    path = sys.argv[1]
    with open(path, "r+b") as f:
        m = mmap.mmap(f.fileno(), 0)
        os.truncate(path, 0)
        print("about to read", flush=True)
        m[len(m) - 1]
        print("survived", flush=True)
""")

MAPFILE_SCRIPT = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, sys.argv[2])
    import mapfile
    path = sys.argv[1]
    with mapfile.MapFile(path) as m:
        os.truncate(path, 0)
        try:
            m[len(m) - 1]
        except mapfile.TruncatedError as error:
            print("survived:", error.strerror.split(":")[0], flush=True)
""")


def test_python_mmap_dies_where_mapfile_survives(pattern_file, tmp_path):
    """Python's own mmap module crashes the interpreter on a truncated file (SIGBUS); the same
    program on mapfile gets an exception."""
    crash = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, str(pattern_file)], capture_output=True, text=True)
    assert crash.returncode == -signal.SIGBUS, (crash.returncode, crash.stdout, crash.stderr)
    assert "about to read" in crash.stdout and "survived" not in crash.stdout

    other = tmp_path / "other.bin"
    other.write_bytes(b"x" * 5 * 4096)
    survive = run_in_child(MAPFILE_SCRIPT, other)
    assert survive.returncode == 0, survive.stderr
    assert survive.stdout == "survived: mapfile_read\n"


def test_open_descriptor_fileno_rfind_and_lost_from(pattern_file):
    data = pattern_file.read_bytes()
    fd = os.open(pattern_file, os.O_RDONLY)
    try:
        m = MapFile(fd, guard_raw=True)
    finally:
        os.close(fd)  # the MapFile keeps its own duplicate
    with m:
        assert m.path is None and len(m) == len(data)
        own = m.fileno()
        assert own >= 0 and os.fstat(own).st_ino == os.stat(pattern_file).st_ino
        needle = data[5000:5004]
        assert m.rfind(needle) == data.rfind(needle)
        assert m.rfind(needle, 5003) == data.rfind(needle, 0, 5003)
        assert m.rfind(b"\xff\xfe\xfd") == -1
        assert m.lost_from() is None
        view = m.view()
        os.truncate(pattern_file, 4096 + 10)
        assert view[8 * 4096] == 0  # guard_raw: zeros, and the loss is recorded
        assert m.lost_from() == 4096 + 10
        with pytest.raises(mapfile.TruncatedError):
            m.rfind(needle)
        del view
        m.refresh()
        assert m.lost_from() is None


def test_check_raises_replaced_after_a_rename_over(tmp_path):
    path = tmp_path / "config"
    path.write_bytes(b"old")
    with MapFile(path) as m:
        m.check()
        (tmp_path / "config.new").write_bytes(b"new!")
        os.rename(tmp_path / "config.new", path)
        with pytest.raises(mapfile.ReplacedError) as caught:
            m.check()
        assert caught.value.status == mapfile.REPLACED
        assert m.read() == b"old"


def _add_in_child(memory, times):
    for _ in range(times):
        memory.atomic_add(0, 1)


def test_anonymous_memory_is_shared_with_multiprocessing_fork_children():
    import multiprocessing

    context = multiprocessing.get_context("fork")
    with MapFile.anonymous(4096) as memory:
        assert len(memory) == 4096 and memory.fileno() == -1
        assert memory.count(0) == 4096  # zero-filled
        workers = [context.Process(target=_add_in_child, args=(memory, 500)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
            assert worker.exitcode == 0
        assert memory.atomic_load(0) == 2000


def _wake_after_store(memory):
    import time

    memory.atomic_store(8, 1)  # the u32 at 8 becomes 1 (little-endian low half)
    deadline = time.monotonic() + 30
    # wake until a sleeper was woken, or the parent saw the value without sleeping (word 16)
    while memory.wake(8) == 0 and memory.atomic_load(16) == 0:
        if time.monotonic() > deadline:
            os._exit(1)


def test_wait_and_wake_across_processes():
    import multiprocessing

    context = multiprocessing.get_context("fork")
    with MapFile.anonymous(4096) as memory:
        assert memory.wait(8, 0, timeout=0.01) is False  # times out: the word holds 0
        assert memory.wait(8, 5) is True  # differs: returns at once
        child = context.Process(target=_wake_after_store, args=(memory,))
        child.start()
        while memory.atomic_load(8) == 0:
            memory.wait(8, 0, timeout=5)
        memory.atomic_store(16, 1)
        child.join(timeout=60)
        assert child.exitcode == 0
        with pytest.raises(mapfile.MapFileError) as raised:
            memory.wait(2, 0)
        assert raised.value.status == mapfile.MISALIGNED


def test_memfd_is_shared_by_descriptor_and_cannot_shrink():
    with MapFile.memfd("python-test", 8192) as memory:
        assert os.readlink(f"/proc/self/fd/{memory.fileno()}").startswith("/memfd:python-test")
        with MapFile(memory.fileno(), "r+") as other:
            other.write(100, b"shared")
            assert memory.read(100, 6) == b"shared"
        with pytest.raises(mapfile.UnsupportedError) as raised:
            memory.resize(4096)
        assert "F_SEAL_SHRINK" in str(raised.value)
        with pytest.raises(OSError):
            os.ftruncate(memory.fileno(), 0)
        memory.resize(16384)
        assert len(memory) == 16384 and memory.huge_pages is False
    with pytest.raises(mapfile.MapFileError) as raised:
        MapFile.anonymous(0)
    assert raised.value.status == mapfile.INVALID_ARG


def _readme_block(after: str) -> str:
    """The first Python block after `after` in the repository's README (dedented: it sits in a
    list item)."""
    readme = (pathlib.Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme[readme.index(after):]
    start = section.index("```python\n") + len("```python\n")
    return textwrap.dedent(section[start:section.index("```", start)])


def test_readme_search_large_log_example(tmp_path):
    code = _readme_block("Search a multi-gigabyte log")
    assert len(code.strip().splitlines()) <= 12
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    lines = [f"{i} {'ERROR db timeout' if i % 7 == 3 else 'INFO ok'} end" for i in range(2000)]
    log = tmp_path / "massive.log"
    log.write_text("\n".join(lines))  # the last line has no newline
    found = namespace["search_large_log"](str(log), r"ERROR.*timeout")
    text = log.read_bytes()
    expected = [(text.index(line.encode()) + line.index("ERROR"), line) for line in lines if "ERROR" in line]
    assert found == expected and len(found) == 286


def test_chunks_cover_the_file_in_order(pattern_file):
    with MapFile(pattern_file) as m:
        pieces = list(m.chunks(3000))
        assert b"".join(pieces) == m.read() and all(len(p) == 3000 for p in pieces[:-1])
        assert b"".join(m.chunks(7, 10, 30)) == m.read(10, 20)
        with pytest.raises(ValueError):
            next(m.chunks(0))


def test_numpy_frombuffer_sees_the_mapping_without_a_copy(tmp_path):
    numpy = pytest.importorskip("numpy", reason="numpy is not installed in this venv")
    path = tmp_path / "array.bin"
    path.write_bytes(numpy.arange(1024, dtype=numpy.uint32).tobytes())
    with MapFile(path, "r+") as m:
        view = m.view()
        array = numpy.frombuffer(view, dtype=numpy.uint32)
        assert array[1000] == 1000
        m.write(4 * 1000, numpy.uint32(7).tobytes())
        assert array[1000] == 7  # the same memory, no copy
        del array
        view.release()


def test_binding_passes_mypy_strict():
    mypy = pytest.importorskip("mypy.api", reason="mypy is not installed in this venv")
    package = pathlib.Path(__file__).resolve().parents[1] / "mapfile"
    report, errors, status = mypy.run(["--strict", "--no-incremental", str(package)])
    assert status == 0, report + errors


CLOSE_RACE_SCRIPT = textwrap.dedent("""
    import os, sys, threading, time
    sys.path.insert(0, sys.argv[2])
    import mapfile
    path = sys.argv[1]
    for attempt in range(10):
        m = mapfile.MapFile(path, "r+")
        running = threading.Barrier(5)
        ended = []
        def loop(call):
            running.wait()
            try:
                while True:
                    call()
            except ValueError as error:
                if "closed" in str(error):
                    ended.append(call)
        calls = [lambda: m.count(b"\\n"),                       # long scans, GIL released
                 lambda: m.find(b"absent needle"),
                 lambda: m.read(len(m) - 4096, 4096),
                 lambda: m.wait(0, 0, timeout=0.05)]           # asleep in the library
        threads = [threading.Thread(target=loop, args=(call,)) for call in calls]
        for thread in threads:
            thread.start()
        running.wait()
        time.sleep(0.01)
        m.close()
        for thread in threads:
            thread.join()
        assert len(ended) == len(calls), ended
    started = time.monotonic()
    m = mapfile.MapFile(path, "r+")
    waiter = threading.Thread(target=lambda: m.wait(0, 0, timeout=0.5))
    waiter.start()
    time.sleep(0.05)
    m.close()  # waits for the wait() in progress to time out
    print("close waited" if time.monotonic() - started >= 0.45 else "close did not wait", flush=True)
    waiter.join()
""")


def test_close_waits_for_calls_in_progress_in_other_threads(tmp_path):
    """ctypes releases the GIL around every library call, so a close() in one thread could unmap
    and free the handle under a count, find, read or wait running in another (a segfault of the
    interpreter). close() waits for them; calls after it raise ValueError. In a child process,
    so that a crash fails this test instead of killing the test run."""
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        f.truncate(64 << 20)  # 64 MiB: a count takes milliseconds
    child = run_in_child(CLOSE_RACE_SCRIPT, path)
    assert child.returncode == 0, (child.returncode, child.stdout, child.stderr)
    assert child.stdout == "close waited\n"


VIEW_RACE_SCRIPT = textwrap.dedent("""
    import sys, threading
    sys.path.insert(0, sys.argv[2])
    import mapfile
    refused = closed_first = 0
    for attempt in range(300):
        m = mapfile.MapFile(sys.argv[1])
        views, started = [], threading.Event()
        def make_views():
            started.set()
            try:
                while len(views) < 50:
                    views.append(m.view(0, 4096))
            except ValueError:  # closed before this view
                pass
        thread = threading.Thread(target=make_views)
        thread.start()
        started.wait()
        try:
            m.close()
            closed_first += 1
        except BufferError:
            refused += 1
        thread.join()
        total = sum(view[4095] for view in views)  # every view handed out is still mapped
        del views
        m.close()
    print("refused" if refused else "never refused", "closed" if closed_first else "never closed", flush=True)
""")


def test_close_never_unmaps_under_a_view_made_while_it_waited(pattern_file):
    """A view() racing with close() is either refused (ValueError: closed) or makes close()
    refuse (BufferError), also when it was in progress while close() waited for calls; a view
    handed out is never unmapped under its holder (a segfault here). In a child process."""
    child = run_in_child(VIEW_RACE_SCRIPT, pattern_file)
    assert child.returncode == 0, (child.returncode, child.stdout, child.stderr)
    assert child.stdout.startswith("refused"), child.stdout


def test_calls_after_close_raise_value_error(pattern_file):
    m = MapFile(pattern_file)
    m.close()
    for call in (lambda: m.view(0, 10), lambda: m.read(0, 1), lambda: len(m), lambda: m.find(b"x")):
        with pytest.raises(ValueError):
            call()
    m.close()  # a second close does nothing


FORK_SCRIPT = textwrap.dedent("""
    import os, signal, sys, threading
    sys.path.insert(0, sys.argv[2])
    import mapfile
    m = mapfile.MapFile(sys.argv[1])
    stop = False
    def scan():
        while not stop:
            m.count(b"\\n")
    thread = threading.Thread(target=scan)
    thread.start()
    caught = 0
    for attempt in range(5):
        while not m._calls:  # until the other thread is inside a call
            pass
        pid = os.fork()
        if pid == 0:
            signal.alarm(10)  # a hang ends the child by SIGALRM
            m.close()  # the parent's scanning thread did not come along
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        caught += status == 0
    stop = True
    thread.join()
    m.close()
    print(f"{caught} of 5 children closed", flush=True)
""")


def test_a_forked_child_closes_without_waiting_for_the_parents_threads(tmp_path):
    """A call another thread had in progress at the fork never ends in the child, so the child's
    close() (and its exit, which closes) must not wait for it. In a child process."""
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        f.truncate(64 << 20)
    child = run_in_child(FORK_SCRIPT, path)
    assert child.returncode == 0, (child.returncode, child.stdout, child.stderr)
    assert child.stdout == "5 of 5 children closed\n"


SHRINK_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    import mapfile
    m = mapfile.MapFile.create(sys.argv[1], 1 << 20)
    view = m.view()
    try:
        m.resize(4096)
        print("shrunk under a view", flush=True)
        view[100000]  # past the new end: SIGBUS without guard_raw
    except BufferError:
        print("refused", flush=True)
    m.resize(2 << 20)  # growing keeps every byte of the view valid
    view[100000] = 7
    del view
    m.resize(4096)
    m.close()
    m = mapfile.MapFile(sys.argv[1], "r+", guard_raw=True)
    m.resize(1 << 20)
    view = m.view()
    m.resize(4096)  # allowed: the view reads zeros past the end
    print("guard_raw", view[100000], m.lost_from(), flush=True)
    del view
    m.close()
""")


def test_shrinking_refuses_while_views_are_alive(tmp_path):
    """Shrinking the file under a live view would make the view's bytes past the new end raise
    SIGBUS in the interpreter, as Python's own mmap refuses any resize with buffers exported.
    In a child process."""
    child = run_in_child(SHRINK_SCRIPT, tmp_path / "shrink.bin", timeout=60)
    assert child.returncode == 0, (child.returncode, child.stdout, child.stderr)
    assert child.stdout == "refused\nguard_raw 0 None\n"


def test_a_mapfile_is_never_pickled(pattern_file):
    """Its handle is a pointer of this process: unpickled elsewhere it would crash that process
    (multiprocessing's spawn start method pickles arguments)."""
    import pickle
    with MapFile(pattern_file) as m:
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(m)


def test_find_rfind_count_and_chunks_read_bounds_as_bytes_does(tmp_path):
    """start and end as bytes.find / rfind / count take them: negative from the end, past the
    end clamped (find from past the end: -1), so code written for bytes or mmap keeps working."""
    data = b"hello world\nsecond line\nthird line\n"
    path = tmp_path / "lines.txt"
    path.write_bytes(data)
    with MapFile(path) as m:
        n = len(data)
        for start in (-100, -5, -1, 0, 3, n - 1, n, n + 1, 100):
            for needle in (b"line", b"l", b"", b"absent"):
                assert m.find(needle, start) == data.find(needle, start), (needle, start)
            for end in (None, -100, -5, 0, 7, n, n + 1, 100):
                assert m.count(b"l", start, end) == data.count(b"l", start, end), (start, end)
                assert b"".join(m.chunks(4, start, end)) == data[start:end], (start, end)
        for end in (None, -100, -5, -1, 0, 7, n, n + 1, 100):
            for needle in (b"line", b"l", b"", b"absent"):
                assert m.rfind(needle, end) == data.rfind(needle, 0, end), (needle, end)
