// The C++ tests' one check: EXPECT records a failed expectation with its line and goes on;
// finish() prints "ok: 0 failure(s)" or "FAILED: N failure(s)" and gives the exit code.
#ifndef MAPFILE_TEST_EXPECT_HPP
#define MAPFILE_TEST_EXPECT_HPP

#include <cstdio>

#include "mapfile.h"

static int failures = 0;
#define EXPECT(condition)                                                                          \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            std::fprintf(stderr, "%s:%d: expectation failed: %s (last error: %s)\n", __FILE__,     \
                         __LINE__, #condition, mapfile_last_error_message());                      \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static int finish() {
    std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "ok", failures);
    return failures == 0 ? 0 : 1;
}

#endif
