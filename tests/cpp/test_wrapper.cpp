// include/mapfile.hpp, the C++ wrapper: RAII and moves, views, exceptions carrying status, errno
// and message, the non-throwing try_* variants. Built under -std=c++17 and -std=c++20 with
// -Wall -Wextra -Werror -pedantic by tests/c_programs.rs; argv[1] is a scratch directory.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>

#include "mapfile.hpp"
#include "expect.hpp"

static bool fd_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const std::string dir = argv[1];
    const std::string path = dir + "/wrapper.dat";
    std::remove(path.c_str());

#if __cplusplus >= 202002L && defined(MAPFILE_HPP_STD_SPAN)
    static_assert(std::is_same_v<mapfile::bytes, std::span<const std::byte>>);
#endif
    static_assert(!std::is_copy_constructible_v<mapfile::map>);
    static_assert(std::is_nothrow_move_constructible_v<mapfile::map>);

    // failures throw mapfile::error with the status, errno and the library's message
    try {
        mapfile::map missing = mapfile::map::open(dir + "/missing");
        EXPECT(false);
    } catch (const mapfile::error &e) {
        EXPECT(e.status() == MAPFILE_ERR_NOT_FOUND);
        EXPECT(e.code().value() == ENOENT);
        EXPECT(std::strstr(e.what(), "missing") != nullptr);
    }
    mapfile::map out;
    EXPECT(mapfile::map::try_open(dir + "/missing", mapfile::mode::read_only, out) == MAPFILE_ERR_NOT_FOUND);
    EXPECT(!out);

    int first_fd = -1;
    {
        mapfile::map m = mapfile::map::create(path, 4096);
        EXPECT(m && m.size() == 4096);
        first_fd = m.fd();
        m.write(100, std::string_view("hello, wrapper\nsecond line\n"));
        EXPECT(m.find("wrapper") == 107);
        EXPECT(m.find("absent") == mapfile::npos);
        EXPECT(m.rfind("line") == 122);
        EXPECT(m.count('\n') == 2);
        mapfile::bytes view = m.view(100, 5);
        EXPECT(view.size() == 5 && view[0] == std::byte{'h'});
        EXPECT(m.chars().substr(100, 5) == "hello");
        char back[5] = {0};
        m.read(100, back, 5);
        EXPECT(std::memcmp(back, "hello", 5) == 0);
        EXPECT(m.try_read(4095, back, 2) == MAPFILE_ERR_OUT_OF_BOUNDS);
        m.flush();
        m.resize(8192);
        EXPECT(m.size() == 8192);

        // moves: the moved-from map is empty, the target owns the handle
        mapfile::map moved = std::move(m);
        EXPECT(!m && moved && moved.fd() == first_fd);
        EXPECT(m.size() == 0 && m.fd() == -1);
        // move assignment closes what the target held
        mapfile::map other = mapfile::map::open(path, mapfile::mode::read_only);
        int other_fd = other.fd();
        other = std::move(moved);
        EXPECT(!fd_open(other_fd) && other.fd() == first_fd);
    }
    EXPECT(!fd_open(first_fd)); // the destructor closed it

    // a truncation is an exception, not a SIGBUS
    {
        mapfile::map m = mapfile::map::open(path, mapfile::mode::read_only);
        EXPECT(truncate(path.c_str(), 0) == 0);
        try {
            char byte = 0;
            m.read(4096, &byte, 1);
            EXPECT(false);
        } catch (const mapfile::error &e) {
            EXPECT(e.status() == MAPFILE_ERR_TRUNCATED);
        }
        EXPECT(m.try_check_file() == MAPFILE_ERR_TRUNCATED);
        m.refresh();
        EXPECT(m.size() == 0);
        m.check_file();
    }

    // release hands the C handle over; close reports the final status
    {
        mapfile::map m = mapfile::map::open_or_create(path, 16);
        mapfile_t *raw = m.release();
        EXPECT(!m && raw != nullptr);
        EXPECT(mapfile_close(raw) == MAPFILE_OK);
        mapfile::map again = mapfile::map::open(path, mapfile::mode::read_write);
        again.close();
        EXPECT(!again);
    }

    // shared memory
    {
        mapfile::map anonymous = mapfile::map::anonymous(4096);
        EXPECT(anonymous.fd() == -1 && anonymous.count(0) == 4096);
        mapfile::map memory = mapfile::map::memfd("wrapper", 4096);
        mapfile_options options;
        mapfile_options_init(&options);
        options.mode = MAPFILE_MODE_READ_WRITE;
        mapfile::map receiver = mapfile::map::open_fd(memory.fd(), options);
        receiver.write(0, std::string_view("via fd"));
        EXPECT(memory.chars().substr(0, 6) == "via fd");
        mapfile::mutable_bytes bytes = memory.mutable_view(10, 2);
        bytes[0] = std::byte{'o'};
        bytes[1] = std::byte{'k'};
        EXPECT(receiver.chars().substr(10, 2) == "ok");
        try {
            memory.resize(1);
            EXPECT(false);
        } catch (const mapfile::error &e) {
            EXPECT(e.status() == MAPFILE_ERR_UNSUPPORTED);
        }
    }

    std::remove(path.c_str());
    return finish();
}
