"""Python binding of libmapfile (ctypes: no compiler needed).

    from mapfile import MapFile

    with MapFile("app.log") as log:              # read-only by default
        print(len(log), log.count(b"\\n"))       # SIMD count, guarded
        at = log.find(b"ERROR")                  # -1 when absent, like bytes.find
        header = log[0:16]                       # bytes (a guarded copy)
        view = log.view()                        # zero-copy memoryview of the mapping

If another process truncates the file, guarded calls raise TruncatedError instead of killing the
interpreter (Python's own mmap module dies with SIGBUS there).

The library is found through $MAPFILE_LIBRARY, then the copy pip built into this package
(`pip install ./bindings/python` runs cargo), then this repository's target/release or
target/debug, then the system's libmapfile.so.0.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Tuple, Union, overload

__all__ = [
    "MapFile",
    "MapFileError",
    "NotFoundError",
    "PermissionDeniedError",
    "ExistsError",
    "OutOfBoundsError",
    "ReadOnlyError",
    "TruncatedError",
    "ReplacedError",
    "UnsupportedError",
    "library",
    "version",
]

# Status codes and constants of include/mapfile.h.
OK = 0
NULL_ARG, INVALID_ARG, OUT_OF_BOUNDS, NOT_FOUND, PERMISSION, EXISTS = -1, -2, -3, -4, -5, -6
READ_ONLY, TRUNCATED, MISALIGNED, NO_MEMORY, NO_SPACE, UNSUPPORTED, IO, INTERNAL = (
    -7, -8, -9, -10, -11, -12, -13, -14)
REPLACED, TIMED_OUT = -15, -16
NPOS = 2**64 - 1
ABI_VERSION = 0

MODES = {"r": 0, "r+": 1, "c": 2}  # READ_ONLY, READ_WRITE (shared), COPY_ON_WRITE (private)
ADVICE = {"normal": 0, "random": 1, "sequential": 2, "will_need": 3, "dont_need": 4,
          "huge_page": 5, "no_huge_page": 6}
FLAG_POPULATE, FLAG_GUARD_RAW, FLAG_HUGE_PAGES = 1, 2, 4
CREATE_NEVER, CREATE_NEW, CREATE_IF_MISSING = 0, 1, 2
OPTIONS_VERSION = 1


class MapFileError(OSError):
    """A failed libmapfile call: `status` is the MAPFILE_ERR_* code, `errno` the OS cause (or its
    closest POSIX equivalent), `strerror` the library's message for this failure."""

    def __init__(self, status: int, errno: int, message: str):
        super().__init__(errno, message)
        self.status = status


class NotFoundError(MapFileError, FileNotFoundError):
    pass


class PermissionDeniedError(MapFileError, PermissionError):
    pass


class ExistsError(MapFileError, FileExistsError):
    pass


class OutOfBoundsError(MapFileError, IndexError):
    pass


class ReadOnlyError(MapFileError):
    pass


class TruncatedError(MapFileError):
    """The file shrank under the mapping; the bytes asked for are gone."""


class ReplacedError(MapFileError):
    """The path now names another file or none; the mapping still shows the old one."""


class UnsupportedError(MapFileError):
    """Not possible here: for instance shrinking shared memory (sealed against it)."""


_ERRORS = {NOT_FOUND: NotFoundError, PERMISSION: PermissionDeniedError, EXISTS: ExistsError,
           OUT_OF_BOUNDS: OutOfBoundsError, READ_ONLY: ReadOnlyError, TRUNCATED: TruncatedError,
           REPLACED: ReplacedError, UNSUPPORTED: UnsupportedError}


class _Options(ctypes.Structure):
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("mode", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("offset", ctypes.c_uint64),
        ("len", ctypes.c_uint64),
        ("max_len", ctypes.c_uint64),
        ("flush_policy", ctypes.c_uint32),
        ("create", ctypes.c_uint32),
        ("flush_every", ctypes.c_uint64),
        ("create_size", ctypes.c_uint64),
    ]


def _candidates() -> Iterator[str]:
    explicit = os.environ.get("MAPFILE_LIBRARY")
    if explicit:
        yield explicit
        return
    # the library pip built into the package (pyproject.toml: setuptools-rust)
    for packaged in sorted(Path(__file__).resolve().parent.glob("_libmapfile*.so")):
        yield str(packaged)
    repository = Path(__file__).resolve().parents[3]
    for profile in ("release", "debug"):
        candidate = repository / "target" / profile / "libmapfile.so"
        if candidate.exists():
            yield str(candidate)
    found = ctypes.util.find_library("mapfile")
    if found:
        yield found
    yield "libmapfile.so.0"


def _load() -> ctypes.CDLL:
    errors = []
    for candidate in _candidates():
        try:
            return ctypes.CDLL(candidate, use_errno=True)
        except OSError as error:
            errors.append(f"{candidate}: {error}")
    raise ImportError("cannot load libmapfile (set MAPFILE_LIBRARY to its path): " + "; ".join(errors))


library = _load()
if library.mapfile_abi_version() != ABI_VERSION:
    raise ImportError(f"libmapfile ABI {library.mapfile_abi_version()} does not match this binding ({ABI_VERSION})")

_handle = ctypes.c_void_p
_u64, _u32, _size = ctypes.c_uint64, ctypes.c_uint32, ctypes.c_size_t
_SIGNATURES = {
    "mapfile_open": [ctypes.c_char_p, _u32, ctypes.POINTER(_handle)],
    "mapfile_create": [ctypes.c_char_p, _u64, ctypes.POINTER(_handle)],
    "mapfile_open_or_create": [ctypes.c_char_p, _u64, ctypes.POINTER(_handle)],
    "mapfile_open_with": [ctypes.c_char_p, ctypes.POINTER(_Options), ctypes.POINTER(_handle)],
    "mapfile_open_fd": [ctypes.c_int, ctypes.POINTER(_Options), ctypes.POINTER(_handle)],
    "mapfile_open_anonymous": [_u64, _u32, ctypes.POINTER(_handle)],
    "mapfile_open_memfd": [ctypes.c_char_p, _u64, _u32, ctypes.POINTER(_handle)],
    "mapfile_close": [_handle],
    "mapfile_slice": [_handle, _u64, _u64, ctypes.POINTER(ctypes.c_void_p)],
    "mapfile_slice_mut": [_handle, _u64, _u64, ctypes.POINTER(ctypes.c_void_p)],
    "mapfile_read": [_handle, _u64, ctypes.c_void_p, _size],
    "mapfile_write": [_handle, _u64, ctypes.c_char_p, _size],
    "mapfile_find": [_handle, _u64, ctypes.c_char_p, _size, ctypes.POINTER(_u64)],
    "mapfile_rfind": [_handle, _u64, ctypes.c_char_p, _size, ctypes.POINTER(_u64)],
    "mapfile_count_byte": [_handle, _u64, _u64, ctypes.c_uint8, ctypes.POINTER(_u64)],
    "mapfile_flush": [_handle],
    "mapfile_flush_range": [_handle, _u64, _u64],
    "mapfile_flush_async": [_handle],
    "mapfile_advise_range": [_handle, _u32, _u64, _u64],
    "mapfile_resize": [_handle, _u64],
    "mapfile_check": [_handle],
    "mapfile_refresh": [_handle],
    "mapfile_atomic_u64_load": [_handle, _u64, ctypes.POINTER(_u64)],
    "mapfile_atomic_u64_store": [_handle, _u64, _u64],
    "mapfile_atomic_u64_fetch_add": [_handle, _u64, _u64, ctypes.POINTER(_u64)],
    "mapfile_atomic_u32_wait": [_handle, _u64, _u32, _u64],
    "mapfile_atomic_u32_wake": [_handle, _u64, _u32, ctypes.POINTER(_u32)],
}
for _name, _arguments in _SIGNATURES.items():
    _function = getattr(library, _name)
    _function.argtypes = _arguments
    _function.restype = ctypes.c_int32
library.mapfile_len.argtypes = [_handle]
library.mapfile_len.restype = _u64
library.mapfile_lost_from.argtypes = [_handle]
library.mapfile_lost_from.restype = _u64
library.mapfile_fd.argtypes = [_handle]
library.mapfile_fd.restype = ctypes.c_int
library.mapfile_huge_pages.argtypes = [_handle]
library.mapfile_huge_pages.restype = ctypes.c_int
library.mapfile_options_init.argtypes = [ctypes.POINTER(_Options)]
library.mapfile_options_init.restype = None
library.mapfile_strerror.argtypes = [ctypes.c_int32]
library.mapfile_strerror.restype = ctypes.c_char_p
library.mapfile_last_error_message.argtypes = []
library.mapfile_last_error_message.restype = ctypes.c_char_p
library.mapfile_version.argtypes = []
library.mapfile_version.restype = ctypes.c_char_p


def _flags(populate: bool, guard_raw: bool, huge_pages: bool) -> int:
    return ((FLAG_POPULATE if populate else 0) | (FLAG_GUARD_RAW if guard_raw else 0)
            | (FLAG_HUGE_PAGES if huge_pages else 0))


def version() -> str:
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return str(library.mapfile_version().decode())


def _check(status: int) -> None:
    """Raises the exception of a failed call (ctypes releases the GIL around calls, but the
    message is per thread in the library, so it belongs to this call)."""
    if status == OK:
        return
    message = library.mapfile_last_error_message().decode(errors="replace")
    errno = ctypes.get_errno()
    raise _ERRORS.get(status, MapFileError)(status, errno, message)


def _after_fork_in_child() -> None:
    """A forked child has only the thread that forked: the calls other threads of the parent had
    in progress never end here, so they must not keep close() waiting (nor a close() that another
    thread was in keep its lock)."""
    for live in list(_LIVE):
        live._calls = []
        live._closing = threading.Lock()


_LIVE: "weakref.WeakSet[MapFile]" = weakref.WeakSet()  # every MapFile, for _after_fork_in_child
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_VIEWS_ALIVE = "cannot close: memoryviews of the mapping are still alive (release them first)"

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


class MapFile:
    """A memory-mapped file (or a window of one).

    path: a path, or an open descriptor (an int: mapped with mapfile_open_fd; the MapFile works
    on its own duplicate, so the caller may close its descriptor).
    mode: "r" read-only, "r+" read-write (writes reach the file), "c" copy-on-write (private).
    offset/length: the window (length 0 = to the end of the file). create: None (the file must
    exist), "new" (must not exist) or "if_missing", with `size` bytes for a created file.
    max_len reserves address space so growth never moves the mapping; populate prefaults it;
    guard_raw makes views of truncated pages read zeros instead of raising SIGBUS; huge_pages asks
    for transparent huge pages (the huge_pages property says what it got).

    Shared memory without a file: MapFile.anonymous(size) (shared with processes forked after it,
    for instance multiprocessing with the "fork" start method) and MapFile.memfd(name, size)
    (its fileno() can be passed to any process, which maps it with MapFile(fd, "r+")).
    """

    def __init__(self, path: Union[PathLike, int], mode: str = "r", *, offset: int = 0, length: int = 0,
                 create: Optional[str] = None, size: int = 0, max_len: int = 0,
                 populate: bool = False, guard_raw: bool = False, huge_pages: bool = False):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {sorted(MODES)}, not {mode!r}")
        dispositions = {None: CREATE_NEVER, "new": CREATE_NEW, "if_missing": CREATE_IF_MISSING}
        if create not in dispositions:
            raise ValueError(f"create must be None, 'new' or 'if_missing', not {create!r}")
        options = _Options()
        library.mapfile_options_init(ctypes.byref(options))
        options.mode = MODES[mode]
        options.flags = _flags(populate, guard_raw, huge_pages)
        options.offset, options.len, options.max_len = offset, length, max_len
        options.create, options.create_size = dispositions[create], size
        handle = _handle()
        if isinstance(path, int):
            _check(library.mapfile_open_fd(path, ctypes.byref(options), ctypes.byref(handle)))
            self.path = None
        else:
            _check(library.mapfile_open_with(os.fsencode(path), ctypes.byref(options), ctypes.byref(handle)))
            self.path = os.fspath(path)
        self._adopt(handle, mode, guard_raw)

    def _adopt(self, handle: ctypes.c_void_p, mode: str, guard_raw: bool = False) -> None:
        self._handle: Optional[int] = handle.value
        self.mode = mode
        self._guard_raw = guard_raw
        # the arrays behind view()s, by id (ctypes arrays are unhashable)
        self._views: "weakref.WeakValueDictionary[int, ctypes.Array[ctypes.c_ubyte]]" = weakref.WeakValueDictionary()
        # Library calls in progress, one entry each (list.append and list.pop are atomic, with or
        # without the GIL). ctypes releases the GIL around every call, so another thread may
        # close() meanwhile: close() waits for this list to empty before it unmaps.
        self._calls: List[None] = []
        self._closing = threading.Lock()
        _LIVE.add(self)

    @classmethod
    def _memory(cls, name: Optional[str], size: int, flags: int) -> "MapFile":
        handle = _handle()
        if name is None:
            _check(library.mapfile_open_anonymous(size, flags, ctypes.byref(handle)))
        else:
            _check(library.mapfile_open_memfd(os.fsencode(name), size, flags, ctypes.byref(handle)))
        memory = cls.__new__(cls)
        memory.path = None
        memory._adopt(handle, "r+")
        return memory

    @classmethod
    def anonymous(cls, size: int, *, huge_pages: bool = False, populate: bool = False) -> "MapFile":
        """`size` bytes of zero-filled shared memory with no file, read-write. Processes forked
        afterwards share it (multiprocessing with the "fork" start method: pass the MapFile to
        the Process). fileno() is -1: no other process can map it. It can grow (resize), never
        shrink."""
        return cls._memory(None, size, _flags(populate, False, huge_pages))

    @classmethod
    def memfd(cls, name: str, size: int, *, huge_pages: bool = False, populate: bool = False) -> "MapFile":
        """`size` bytes of zero-filled shared memory in a memfd (`name` is a label for /proc),
        sealed against shrinking so that no process mapping it can crash. Pass fileno() to
        another process (inheritance, socket.send_fds) and map it there with MapFile(fd, "r+")."""
        return cls._memory(name, size, _flags(populate, False, huge_pages))

    @classmethod
    def create(cls, path: PathLike, size: int) -> "MapFile":
        """A new zero-filled file of `size` bytes, read-write; ExistsError if the path exists."""
        return cls(path, "r+", create="new", size=size)

    @classmethod
    def open_or_create(cls, path: PathLike, size: int) -> "MapFile":
        """Opens the file read-write, or creates it with `size` bytes (never truncates)."""
        return cls(path, "r+", create="if_missing", size=size)

    # --- lifecycle ---

    def close(self) -> None:
        """Flushes a written read-write mapping, unmaps, closes. Refuses (BufferError) while
        memoryviews from view() are alive, since they point into the mapping. Calls that other
        threads have in progress on this MapFile finish first (close() waits for them: wake a
        thread sleeping in wait() without a timeout before closing); calls made after close()
        raise ValueError."""
        with self._closing:
            handle = self._handle
            if handle is None:
                return
            if self._views_alive():
                raise BufferError(_VIEWS_ALIVE)
            self._handle = None  # calls starting from now raise ValueError
            while self._calls:
                time.sleep(0.0005)
            if self._views_alive():  # made by a view() that was in progress
                self._handle = handle
                raise BufferError(_VIEWS_ALIVE)
            _check(library.mapfile_close(handle))

    @property
    def closed(self) -> bool:
        return self._handle is None

    def _views_alive(self) -> bool:
        return len(self._views) > 0

    def _call(self, function: Callable[..., Any], *arguments: Any) -> Any:
        """`function(handle, *arguments)`, counted as in progress so that close() in another
        thread waits for it rather than unmapping under it."""
        calls = self._calls
        calls.append(None)
        try:
            handle = self._handle
            if handle is None:
                raise ValueError("the MapFile is closed")
            return function(handle, *arguments)
        finally:
            calls.pop()

    def __enter__(self) -> "MapFile":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if self._handle is not None and not self._views_alive():
                self.close()
        except Exception:
            pass

    def __reduce__(self) -> Any:
        """A MapFile holds a pointer valid in this process only, so it is never pickled (as for
        multiprocessing's "spawn" and "forkserver" start methods, which pickle arguments)."""
        raise TypeError("a MapFile cannot be pickled: pass its path (or, for a memfd, its fileno() "
                        "through socket.send_fds) and open it in the other process, or use the \"fork\" "
                        "start method, under which the child inherits the mapping")

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self)} bytes"
        return f"<MapFile {self.path!r} mode={self.mode!r} {state}>"

    @property
    def handle(self) -> int:
        """The C handle (`mapfile_t *`), for ctypes calls of your own; close() does not wait for
        those."""
        if self._handle is None:
            raise ValueError("the MapFile is closed")
        return self._handle

    # --- access ---

    def __len__(self) -> int:
        return int(self._call(library.mapfile_len))

    def _range(self, key: slice) -> Tuple[int, int]:
        """(start, size) of a slice as bytes reads it: None is the edge, a negative index counts
        from the end, past either edge is clamped to it."""
        start, stop, step = key.indices(len(self))
        if step != 1:
            raise ValueError("only contiguous slices (step 1) are supported")
        return start, max(stop - start, 0)

    @overload
    def __getitem__(self, key: int) -> int: ...

    @overload
    def __getitem__(self, key: slice) -> bytes: ...

    def __getitem__(self, key: Union[int, slice]) -> Union[int, bytes]:
        if isinstance(key, slice):
            start, size = self._range(key)
            return self.read(start, size)
        index = key + len(self) if key < 0 else key
        if not 0 <= index < len(self):
            raise IndexError("MapFile index out of range")
        return self.read(index, 1)[0]

    def __setitem__(self, key: Union[int, slice], value: Union[int, bytes]) -> None:
        if isinstance(key, slice):
            if isinstance(value, int):
                raise TypeError("a slice takes bytes, not an int")
            start, size = self._range(key)
            data = bytes(value)
            if len(data) != size:
                raise ValueError("a MapFile slice assignment cannot change the size")
            self.write(start, data)
            return
        if not isinstance(value, int):
            raise TypeError("an index takes an int (a byte value 0..255)")
        index = key + len(self) if key < 0 else key
        self.write(index, bytes([value]))

    def read(self, offset: int = 0, size: Optional[int] = None) -> bytes:
        """A guarded copy of `size` bytes at `offset` (to the end by default)."""
        if size is None:
            size = max(len(self) - offset, 0)
        buffer = ctypes.create_string_buffer(size)
        _check(self._call(library.mapfile_read, offset, buffer, size))
        return buffer.raw

    def write(self, offset: int, data: bytes) -> None:
        """A guarded copy of `data` into the mapping at `offset`."""
        data = bytes(data)
        _check(self._call(library.mapfile_write, offset, data, len(data)))

    def find(self, needle: bytes, start: int = 0) -> int:
        """Offset of the first `needle` at or after `start`, or -1 (`start` as in bytes.find:
        negative counts from the end; past the end, -1)."""
        needle = bytes(needle)
        if start > len(self):
            return -1
        start, _ = self._range(slice(start, None))
        position = _u64()
        _check(self._call(library.mapfile_find, start, needle, len(needle), ctypes.byref(position)))
        return -1 if position.value == NPOS else position.value

    def rfind(self, needle: bytes, end: Optional[int] = None) -> int:
        """Offset of the last `needle` lying wholly before `end` (default: the end; negative
        counts from the end, past it is clamped, as in bytes.rfind), or -1."""
        needle = bytes(needle)
        _, end = self._range(slice(None, end))  # from 0: the size is the end
        position = _u64()
        _check(self._call(library.mapfile_rfind, end, needle, len(needle), ctypes.byref(position)))
        return -1 if position.value == NPOS else position.value

    def chunks(self, size: int = 1 << 20, start: int = 0, end: Optional[int] = None) -> Iterator[bytes]:
        """Guarded copies of [start, end) in pieces of `size` bytes (the last may be shorter):
        bounded memory for any file size, TruncatedError instead of SIGBUS."""
        if size <= 0:
            raise ValueError(f"size must be positive, not {size}")
        start, length = self._range(slice(start, end))
        end = start + length
        for offset in range(start, end, size):
            yield self.read(offset, min(size, end - offset))

    def lost_from(self) -> Optional[int]:
        """Offset of the first byte the library saw lost to truncation (a guarded call or a
        guard_raw view reached it), or None. No system call: cheap enough for every line."""
        lost = int(self._call(library.mapfile_lost_from))
        return None if lost == NPOS else lost

    def fileno(self) -> int:
        """The mapping's own descriptor (closed by close(); do not close it yourself); -1 for
        anonymous memory."""
        return int(self._call(library.mapfile_fd))

    @property
    def huge_pages(self) -> bool:
        """Whether the mapping is really backed by huge pages now (from /proc/self/smaps)."""
        return bool(self._call(library.mapfile_huge_pages) == 1)

    def count(self, byte: Union[int, bytes], start: int = 0, end: Optional[int] = None) -> int:
        """How many bytes equal `byte` in [start, end) (bounds as in bytes.count: negative
        counts from the end, past the end is clamped)."""
        if isinstance(byte, (bytes, bytearray)):
            if len(byte) != 1:
                raise ValueError("count takes a single byte")
            byte = byte[0]
        if not 0 <= byte <= 255:
            raise ValueError(f"a byte is 0..255, not {byte}")
        start, size = self._range(slice(start, end))
        total = _u64()
        _check(self._call(library.mapfile_count_byte, start, size, byte, ctypes.byref(total)))
        return total.value

    def view(self, offset: int = 0, length: Optional[int] = None) -> memoryview:
        """A zero-copy memoryview of the mapping (read-only unless the mode is "r+" or "c").
        Raw access: touching pages lost to a truncation raises SIGBUS unless guard_raw=True.
        close() refuses while views are alive."""
        if length is None:
            length = max(len(self) - offset, 0)
        pointer = ctypes.c_void_p()
        writable = self.mode != "r"
        function = library.mapfile_slice_mut if writable else library.mapfile_slice
        self._calls.append(None)  # in progress until the view is registered (see close())
        try:
            _check(function(self.handle, offset, length, ctypes.byref(pointer)))
            array = (ctypes.c_ubyte * length).from_address(pointer.value or 0) if length else (ctypes.c_ubyte * 0)()
            self._views[id(array)] = array
        finally:
            self._calls.pop()
        view = memoryview(array).cast("B")
        return view if writable else view.toreadonly()

    # --- durability, hints, size ---

    def flush(self, offset: Optional[int] = None, length: Optional[int] = None) -> None:
        """Durable flush (msync MS_SYNC) of the whole mapping or of a range."""
        if offset is None and length is None:
            _check(self._call(library.mapfile_flush))
        else:
            offset = offset or 0
            length = len(self) - offset if length is None else length
            _check(self._call(library.mapfile_flush_range, offset, length))

    def flush_async(self) -> None:
        _check(self._call(library.mapfile_flush_async))

    def advise(self, advice: str, offset: int = 0, length: Optional[int] = None) -> None:
        if advice not in ADVICE:
            raise ValueError(f"advice must be one of {sorted(ADVICE)}")
        length = len(self) - offset if length is None else length
        _check(self._call(library.mapfile_advise_range, ADVICE[advice], offset, length))

    def resize(self, new_length: int) -> None:
        """Grows or shrinks the file and the mapping. Shrinking refuses (BufferError) while
        memoryviews from view() are alive, unless guard_raw=True: their bytes past the new end
        would raise SIGBUS (with guard_raw they read zeros)."""
        if new_length < len(self) and not self._guard_raw and self._views_alive():
            raise BufferError("cannot shrink: memoryviews of the mapping are still alive (release them first, "
                              "or open with guard_raw=True)")
        _check(self._call(library.mapfile_resize, new_length))

    def refresh(self) -> None:
        """Follow the file's current length (after appends or a truncation)."""
        _check(self._call(library.mapfile_refresh))

    def check(self) -> None:
        """Raises TruncatedError once the file shrank under the mapping."""
        _check(self._call(library.mapfile_check))

    @property
    def truncated(self) -> bool:
        try:
            self.check()
        except TruncatedError:
            return True
        return False

    # --- atomics (8-byte aligned file positions) ---

    def atomic_load(self, offset: int) -> int:
        value = _u64()
        _check(self._call(library.mapfile_atomic_u64_load, offset, ctypes.byref(value)))
        return value.value

    def atomic_store(self, offset: int, value: int) -> None:
        _check(self._call(library.mapfile_atomic_u64_store, offset, value))

    def atomic_add(self, offset: int, delta: int) -> int:
        """Adds atomically; returns the value before."""
        old = _u64()
        _check(self._call(library.mapfile_atomic_u64_fetch_add, offset, delta, ctypes.byref(old)))
        return old.value

    # --- futex wait/wake on a 4-byte word (4-byte aligned positions), across processes ---

    def wait(self, offset: int, expected: int, timeout: Optional[float] = None) -> bool:
        """Sleeps while the u32 at `offset` holds `expected`, until woken (True) or `timeout`
        seconds pass (False). Returns True at once when the value differs. A wake-up may be
        spurious: re-check the value, as with every futex. Releases the GIL while asleep."""
        nanoseconds = 2**64 - 1 if timeout is None else max(0, int(timeout * 1e9))
        status = self._call(library.mapfile_atomic_u32_wait, offset, expected, nanoseconds)
        if status == TIMED_OUT:
            return False
        _check(status)
        return True

    def wake(self, offset: int, count: Optional[int] = None) -> int:
        """Wakes up to `count` waiters on the u32 at `offset` (None: all); how many woke."""
        woken = _u32()
        wake_all = 2**32 - 1
        _check(self._call(library.mapfile_atomic_u32_wake, offset, wake_all if count is None else count,
                          ctypes.byref(woken)))
        return woken.value
