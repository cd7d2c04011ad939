/**
 * @file mapfile.hpp
 * C++17 wrapper of libmapfile, header-only, over the C API of mapfile.h (nothing here is
 * exported by the library; it is inline code in your program).
 *
 * - mapfile::map is the RAII handle: move-only, closed by its destructor (which cannot report a
 *   failure: call close() to see the status of the final flush).
 * - Views are std::span<const std::byte> under C++20 (mapfile::bytes), a pointer+size pair with
 *   the same members (data, size, empty, begin, end, operator[], subspan) under C++17; text
 *   is std::string_view. They point into the mapping: valid until the map closes.
 * - Failures throw mapfile::error (a std::runtime_error: status() is the MAPFILE_ERR_* code,
 *   code() / errno_value() the errno, what() the library's message). Every throwing call has a noexcept
 *   try_* variant that returns the mapfile_status instead (and writes the result through an
 *   out parameter, left untouched on failure); the thread's message is then
 *   mapfile_last_error_message(). Under -fno-exceptions only the try_* calls are declared.
 *
 * @code
 * mapfile::map log = mapfile::map::open("app.log");
 * std::string_view text = log.chars();
 * std::uint64_t at = log.find("ERROR");           // mapfile::npos when absent
 * @endcode
 */
#ifndef MAPFILE_HPP
#define MAPFILE_HPP

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "mapfile.h"

/* Built without exceptions (-fno-exceptions), only the noexcept try_* calls are declared. */
#ifndef MAPFILE_HPP_EXCEPTIONS
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define MAPFILE_HPP_EXCEPTIONS 1
#else
#define MAPFILE_HPP_EXCEPTIONS 0
#endif
#endif

#if __cplusplus >= 202002L && defined(__has_include)
#if __has_include(<span>)
#include <span>
#define MAPFILE_HPP_STD_SPAN 1
#endif
#endif

namespace mapfile {

/** MAPFILE_NPOS: "not found" of find and rfind. */
inline constexpr std::uint64_t npos = MAPFILE_NPOS;

/** A failed call: status() is the MAPFILE_ERR_* code, code() the errno (generic category),
 * what() the library's message for this failure (it already names the OS error). */
class error : public std::runtime_error {
public:
    error(mapfile_status status, int errno_value, const char *message)
        : std::runtime_error(message), status_(status), errno_(errno_value) {}
    mapfile_status status() const noexcept { return status_; }
    int errno_value() const noexcept { return errno_; }
    std::error_code code() const noexcept { return std::error_code(errno_, std::generic_category()); }

private:
    mapfile_status status_;
    int errno_;
};

#if MAPFILE_HPP_EXCEPTIONS
/** Throws mapfile::error for anything but MAPFILE_OK (with this thread's message and errno). */
inline void check(mapfile_status status) {
    if (status != MAPFILE_OK) {
        int errno_value = errno;
        throw error(status, errno_value, mapfile_last_error_message());
    }
}
#endif

#ifdef MAPFILE_HPP_STD_SPAN
using bytes = std::span<const std::byte>;
using mutable_bytes = std::span<std::byte>;
#else
/** The C++17 stand-in for std::span: a pointer and a size, with span's reading members. */
template <class T>
class basic_bytes {
public:
    constexpr basic_bytes() noexcept = default;
    constexpr basic_bytes(T *data, std::size_t size) noexcept : data_(data), size_(size) {}
    constexpr T *data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr T *begin() const noexcept { return data_; }
    constexpr T *end() const noexcept { return data_ + size_; }
    constexpr T &operator[](std::size_t i) const noexcept { return data_[i]; }
    constexpr basic_bytes subspan(std::size_t offset, std::size_t count) const noexcept {
        return basic_bytes(data_ + offset, count);
    }

private:
    T *data_ = nullptr;
    std::size_t size_ = 0;
};
using bytes = basic_bytes<const std::byte>;
using mutable_bytes = basic_bytes<std::byte>;
#endif

/** Access modes (MAPFILE_MODE_*). */
enum class mode : std::uint32_t {
    read_only = MAPFILE_MODE_READ_ONLY,
    read_write = MAPFILE_MODE_READ_WRITE,
    copy_on_write = MAPFILE_MODE_COPY_ON_WRITE,
};

/** The RAII handle of one mapping (see the file comment). */
class map {
public:
    /** An empty map (no mapping; explicit operator bool is false). */
    map() noexcept = default;
    /** Takes ownership of a handle from the C API (NULL makes an empty map). */
    explicit map(mapfile_t *adopted) noexcept : m_(adopted) {}
    map(map &&other) noexcept : m_(std::exchange(other.m_, nullptr)) {}
    map &operator=(map &&other) noexcept {
        if (this != &other) {
            reset();
            m_ = std::exchange(other.m_, nullptr);
        }
        return *this;
    }
    map(const map &) = delete;
    map &operator=(const map &) = delete;
    /** Closes (flushing a written READ_WRITE mapping); a failure cannot be reported here. */
    ~map() { reset(); }

    // --- opening: try_* return the status and leave `out` untouched on failure ---

    static mapfile_status try_open(const std::string &path, mode m, map &out) noexcept {
        mapfile_t *raw = nullptr;
        return adopt(mapfile_open(path.c_str(), static_cast<std::uint32_t>(m), &raw), raw, out);
    }
    static mapfile_status try_create(const std::string &path, std::uint64_t size, map &out) noexcept {
        mapfile_t *raw = nullptr;
        return adopt(mapfile_create(path.c_str(), size, &raw), raw, out);
    }
    static mapfile_status try_open_or_create(const std::string &path, std::uint64_t size, map &out) noexcept {
        mapfile_t *raw = nullptr;
        return adopt(mapfile_open_or_create(path.c_str(), size, &raw), raw, out);
    }
    /** mapfile_open_with: a window, flags, create disposition, flush policy (see mapfile.h). */
    static mapfile_status try_open_with(const std::string &path, const mapfile_options &options, map &out) noexcept {
        mapfile_t *raw = nullptr;
        return adopt(mapfile_open_with(path.c_str(), &options, &raw), raw, out);
    }
    /** mapfile_open_fd: maps a descriptor you hold (the map keeps its own duplicate). */
    static mapfile_status try_open_fd(int fd, const mapfile_options &options, map &out) noexcept {
        mapfile_t *raw = nullptr;
        return adopt(mapfile_open_fd(fd, &options, &raw), raw, out);
    }
    /** mapfile_open_anonymous: shared memory with processes forked afterwards. */
    static mapfile_status try_anonymous(std::uint64_t size, std::uint32_t flags, map &out) noexcept {
        mapfile_t *raw = nullptr;
        return adopt(mapfile_open_anonymous(size, flags, &raw), raw, out);
    }
    /** mapfile_open_memfd: shared memory in a sealed memfd (pass fd() to other processes). */
    static mapfile_status try_memfd(const std::string &name, std::uint64_t size, std::uint32_t flags, map &out) noexcept {
        mapfile_t *raw = nullptr;
        return adopt(mapfile_open_memfd(name.c_str(), size, flags, &raw), raw, out);
    }

    // --- the handle ---

    explicit operator bool() const noexcept { return m_ != nullptr; }
    /** The C handle, for calls this wrapper does not cover (the map keeps owning it). */
    mapfile_t *get() const noexcept { return m_; }
    /** Gives up ownership: the caller closes the returned handle. */
    mapfile_t *release() noexcept { return std::exchange(m_, nullptr); }
    /** Closes now and reports the final flush (the map is empty after, whatever the status). */
    mapfile_status try_close() noexcept { return mapfile_close(std::exchange(m_, nullptr)); }

    // --- reading and writing (try_*: noexcept, the result through an out parameter) ---

    /** Window length in bytes (0 for an empty map). */
    std::uint64_t size() const noexcept { return mapfile_len(m_); }
    /** The handle's descriptor (-1 for anonymous memory and an empty map). */
    int fd() const noexcept { return mapfile_fd(m_); }
    /** Zero-copy view of `len` bytes at `offset`. */
    mapfile_status try_view(std::uint64_t offset, std::uint64_t len, bytes &out) const noexcept {
        const std::uint8_t *p = nullptr;
        mapfile_status status = mapfile_slice(m_, offset, len, &p);
        if (status == MAPFILE_OK) out = bytes(reinterpret_cast<const std::byte *>(p), static_cast<std::size_t>(len));
        return status;
    }
    /** Writable zero-copy view (READ_WRITE or COPY_ON_WRITE). */
    mapfile_status try_mutable_view(std::uint64_t offset, std::uint64_t len, mutable_bytes &out) noexcept {
        std::uint8_t *p = nullptr;
        mapfile_status status = mapfile_slice_mut(m_, offset, len, &p);
        if (status == MAPFILE_OK) out = mutable_bytes(reinterpret_cast<std::byte *>(p), static_cast<std::size_t>(len));
        return status;
    }
    /** The whole window as text. */
    mapfile_status try_chars(std::string_view &out) const noexcept {
        const char *text = nullptr;
        std::size_t len = 0;
        mapfile_status status = mapfile_chars(m_, &text, &len);
        if (status == MAPFILE_OK) out = std::string_view(text, len);
        return status;
    }
    /** Guarded copy out of the mapping (TRUNCATED instead of SIGBUS). */
    mapfile_status try_read(std::uint64_t offset, void *into, std::size_t len) const noexcept {
        return mapfile_read(m_, offset, into, len);
    }
    /** Guarded copy into the mapping. */
    mapfile_status try_write(std::uint64_t offset, const void *from, std::size_t len) noexcept {
        return mapfile_write(m_, offset, from, len);
    }
    /** First position >= from where `needle` starts (npos when absent). */
    mapfile_status try_find(std::string_view needle, std::uint64_t from, std::uint64_t &at) const noexcept {
        return mapfile_find(m_, from, needle.data(), needle.size(), &at);
    }
    /** Last position where `needle` lies wholly before `end` (npos: the end); npos when absent. */
    mapfile_status try_rfind(std::string_view needle, std::uint64_t end, std::uint64_t &at) const noexcept {
        return mapfile_rfind(m_, end == npos ? size() : end, needle.data(), needle.size(), &at);
    }
    /** How many bytes equal `byte` in [offset, offset + len) (len npos: to the end). */
    mapfile_status try_count(std::uint8_t byte, std::uint64_t offset, std::uint64_t len, std::uint64_t &n) const noexcept {
        if (len == npos) {
            std::uint64_t window = size();
            len = offset <= window ? window - offset : npos; /* past the end: OUT_OF_BOUNDS */
        }
        return mapfile_count_byte(m_, offset, len, byte, &n);
    }

    // --- durability and size ---

    mapfile_status try_flush() noexcept { return mapfile_flush(m_); }
    mapfile_status try_flush(std::uint64_t offset, std::uint64_t len) noexcept { return mapfile_flush_range(m_, offset, len); }
    mapfile_status try_resize(std::uint64_t len) noexcept { return mapfile_resize(m_, len); }
    mapfile_status try_refresh() noexcept { return mapfile_refresh(m_); }
    /** OK, TRUNCATED or REPLACED (see mapfile_check). */
    mapfile_status try_check_file() const noexcept { return mapfile_check(m_); }

#if MAPFILE_HPP_EXCEPTIONS
    // --- the same, throwing mapfile::error (not declared under -fno-exceptions) ---

    static map open(const std::string &path, mode m = mode::read_only) { return opened(try_open, path, m); }
    static map create(const std::string &path, std::uint64_t size) { return opened(try_create, path, size); }
    static map open_or_create(const std::string &path, std::uint64_t size) {
        return opened(try_open_or_create, path, size);
    }
    static map open_with(const std::string &path, const mapfile_options &options) {
        return opened(try_open_with, path, options);
    }
    static map open_fd(int fd, const mapfile_options &options) { return opened(try_open_fd, fd, options); }
    static map anonymous(std::uint64_t size, std::uint32_t flags = 0) { return opened(try_anonymous, size, flags); }
    static map memfd(const std::string &name, std::uint64_t size, std::uint32_t flags = 0) {
        return opened(try_memfd, name, size, flags);
    }
    /** Closes now and reports the final flush (throws on failure; the map is empty after). */
    void close() { check(try_close()); }
    /** Zero-copy view of the whole window. */
    bytes view() const { return view(0, size()); }
    /** Zero-copy view of `len` bytes at `offset` (OUT_OF_BOUNDS throws). */
    bytes view(std::uint64_t offset, std::uint64_t len) const {
        bytes out;
        check(try_view(offset, len, out));
        return out;
    }
    mutable_bytes mutable_view(std::uint64_t offset, std::uint64_t len) {
        mutable_bytes out;
        check(try_mutable_view(offset, len, out));
        return out;
    }
    std::string_view chars() const {
        std::string_view out;
        check(try_chars(out));
        return out;
    }
    void read(std::uint64_t offset, void *into, std::size_t len) const { check(try_read(offset, into, len)); }
    void write(std::uint64_t offset, const void *from, std::size_t len) { check(try_write(offset, from, len)); }
    void write(std::uint64_t offset, std::string_view text) { write(offset, text.data(), text.size()); }
    std::uint64_t find(std::string_view needle, std::uint64_t from = 0) const {
        std::uint64_t at = npos;
        check(try_find(needle, from, at));
        return at;
    }
    std::uint64_t rfind(std::string_view needle, std::uint64_t end = npos) const {
        std::uint64_t at = npos;
        check(try_rfind(needle, end, at));
        return at;
    }
    std::uint64_t count(std::uint8_t byte, std::uint64_t offset = 0, std::uint64_t len = npos) const {
        std::uint64_t n = 0;
        check(try_count(byte, offset, len, n));
        return n;
    }
    void flush() { check(try_flush()); }
    void flush(std::uint64_t offset, std::uint64_t len) { check(try_flush(offset, len)); }
    void resize(std::uint64_t len) { check(try_resize(len)); }
    void refresh() { check(try_refresh()); }
    /** Throws TRUNCATED / REPLACED (see mapfile_check). */
    void check_file() const { check(try_check_file()); }
#endif

private:
    void reset() noexcept {
        if (m_ != nullptr) mapfile_close(std::exchange(m_, nullptr));
    }
    /** `out` takes the handle that an open call wrote to `raw` (closing what it held). `raw` is
     * a reference: it is read here, after the call that is the first argument has run. */
    static mapfile_status adopt(mapfile_status status, mapfile_t *const &raw, map &out) noexcept {
        if (status == MAPFILE_OK) out = map(raw);
        return status;
    }
#if MAPFILE_HPP_EXCEPTIONS
    template <class Open, class... Arguments>
    static map opened(Open open, const Arguments &...arguments) {
        map out;
        check(open(arguments..., out));
        return out;
    }
#endif

    mapfile_t *m_ = nullptr;
};

} // namespace mapfile

#endif /* MAPFILE_HPP */
