// include/mapfile.hpp under -fno-exceptions (code bases that forbid them): every call has a
// noexcept try_* form returning the status, out parameters untouched on failure, and the header
// compiles with the throwing forms left out. Built under -std=c++17 and -std=c++20 with
// -fno-exceptions -Wall -Wextra -Werror -pedantic by tests/c_programs.rs; argv[1] is a scratch
// directory.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "mapfile.hpp"
#include "expect.hpp"

#if MAPFILE_HPP_EXCEPTIONS
#error "built with exceptions: this test is for -fno-exceptions"
#endif

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const std::string dir = argv[1];
    const std::string path = dir + "/no-exceptions.dat";
    std::remove(path.c_str());

    mapfile::map m;
    EXPECT(mapfile::map::try_open(dir + "/missing", mapfile::mode::read_only, m) == MAPFILE_ERR_NOT_FOUND);
    EXPECT(!m && std::strstr(mapfile_last_error_message(), "missing") != nullptr);
    EXPECT(mapfile::map::try_create(path, 4096, m) == MAPFILE_OK && m.size() == 4096);
    mapfile::map again;
    EXPECT(mapfile::map::try_create(path, 4096, again) == MAPFILE_ERR_EXISTS && !again);

    const std::string_view text = "hello, no exceptions\nsecond line\n";
    EXPECT(m.try_write(100, text.data(), text.size()) == MAPFILE_OK);
    char back[5] = {0};
    EXPECT(m.try_read(100, back, 5) == MAPFILE_OK && std::memcmp(back, "hello", 5) == 0);
    EXPECT(m.try_read(4095, back, 2) == MAPFILE_ERR_OUT_OF_BOUNDS);
    std::uint64_t at = 0;
    EXPECT(m.try_find("exceptions", 0, at) == MAPFILE_OK && at == 110);
    EXPECT(m.try_find("absent", 0, at) == MAPFILE_OK && at == mapfile::npos);
    EXPECT(m.try_rfind("line", mapfile::npos, at) == MAPFILE_OK && at == 128);
    std::uint64_t n = 0;
    EXPECT(m.try_count('\n', 0, mapfile::npos, n) == MAPFILE_OK && n == 2);
    EXPECT(m.try_count('\n', 110, mapfile::npos, n) == MAPFILE_OK && n == 2);
    n = 7;
    EXPECT(m.try_count('\n', 5000, mapfile::npos, n) == MAPFILE_ERR_OUT_OF_BOUNDS && n == 7);
    mapfile::bytes view;
    EXPECT(m.try_view(100, 5, view) == MAPFILE_OK && view.size() == 5 && view[0] == std::byte{'h'});
    EXPECT(m.try_view(4000, 200, view) == MAPFILE_ERR_OUT_OF_BOUNDS && view.size() == 5);
    std::string_view chars;
    EXPECT(m.try_chars(chars) == MAPFILE_OK && chars.substr(100, 5) == "hello");
    mapfile::mutable_bytes writable;
    EXPECT(m.try_mutable_view(200, 2, writable) == MAPFILE_OK && writable.size() == 2);
    writable[0] = std::byte{'o'};
    EXPECT(m.try_flush() == MAPFILE_OK && m.try_flush(0, 4096) == MAPFILE_OK);
    EXPECT(m.try_resize(8192) == MAPFILE_OK && m.size() == 8192);
    EXPECT(m.try_check_file() == MAPFILE_OK);

    // a truncation is a status, not a SIGBUS; refresh follows the file
    {
        mapfile::map reader;
        EXPECT(mapfile::map::try_open(path, mapfile::mode::read_only, reader) == MAPFILE_OK);
        EXPECT(truncate(path.c_str(), 0) == 0);
        EXPECT(reader.try_read(4096, back, 1) == MAPFILE_ERR_TRUNCATED);
        EXPECT(reader.try_check_file() == MAPFILE_ERR_TRUNCATED);
        EXPECT(reader.try_refresh() == MAPFILE_OK && reader.size() == 0);
    }
    EXPECT(m.try_close() == MAPFILE_OK && !m);

    // the other ways to open
    {
        mapfile::map created;
        EXPECT(mapfile::map::try_open_or_create(path, 16, created) == MAPFILE_OK);
        mapfile_options options;
        mapfile_options_init(&options);
        options.mode = MAPFILE_MODE_READ_WRITE;
        mapfile::map with;
        EXPECT(mapfile::map::try_open_with(path, options, with) == MAPFILE_OK && with.size() == created.size());
        mapfile::map memory;
        EXPECT(mapfile::map::try_memfd("no-exceptions", 4096, 0, memory) == MAPFILE_OK);
        mapfile::map receiver;
        EXPECT(mapfile::map::try_open_fd(memory.fd(), options, receiver) == MAPFILE_OK);
        EXPECT(receiver.try_write(0, "via fd", 6) == MAPFILE_OK);
        EXPECT(memory.try_chars(chars) == MAPFILE_OK && chars.substr(0, 6) == "via fd");
        EXPECT(memory.try_resize(1) == MAPFILE_ERR_UNSUPPORTED);
        mapfile::map anonymous;
        EXPECT(mapfile::map::try_anonymous(4096, 0, anonymous) == MAPFILE_OK && anonymous.fd() == -1);
        // a failed open leaves the map it was given as it was
        mapfile::map kept;
        EXPECT(mapfile::map::try_anonymous(4096, 0, kept) == MAPFILE_OK);
        mapfile_t *held = kept.get();
        EXPECT(mapfile::map::try_open(dir + "/missing", mapfile::mode::read_only, kept) == MAPFILE_ERR_NOT_FOUND);
        EXPECT(kept.get() == held && held != nullptr);
        int fd_before = with.fd();
        EXPECT(mapfile::map::try_open_fd(-1, options, with) != MAPFILE_OK && with.fd() == fd_before);
    }

    std::remove(path.c_str());
    return finish();
}
