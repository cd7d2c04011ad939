// grep_log (C++): the lines of a log that contain a word, with their numbers, on the C++ wrapper
// (include/mapfile.hpp): the file is mapped once, searched with the library's guarded find, and
// printed from std::string_view pieces of the mapping (no copy). A truncation under it is an
// exception, not a crash.
//
// usage: grep_log WORD FILE   prints "NUMBER:LINE" per matching line, then "N matching lines"
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "mapfile.hpp"

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s WORD FILE\n", argv[0]);
        return 2;
    }
    const std::string_view word = argv[1];
    try {
        const mapfile::map log = mapfile::map::open(argv[2]);
        const std::string_view text = log.chars();
        std::uint64_t matches = 0, line_number = 1, line_start = 0;
        for (std::uint64_t at = log.find(word); at != mapfile::npos; at = log.find(word, at)) {
            // count the newlines between the last line printed and this match
            line_number += log.count('\n', line_start, at - line_start);
            std::uint64_t start = text.rfind('\n', at) == std::string_view::npos ? 0 : text.rfind('\n', at) + 1;
            std::uint64_t end = text.find('\n', at);
            if (end == std::string_view::npos) end = text.size();
            std::printf("%llu:%.*s\n", static_cast<unsigned long long>(line_number),
                        static_cast<int>(end - start), text.data() + start);
            matches++;
            line_start = end;
            at = end; // the next match is on a later line
        }
        std::printf("%llu matching lines\n", static_cast<unsigned long long>(matches));
    } catch (const mapfile::error &e) {
        std::fprintf(stderr, "grep_log: %s\n", e.what());
        return 1;
    }
    return 0;
}
