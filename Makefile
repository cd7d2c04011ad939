# The two set-up commands of the README. Needs only the Rust toolchain, a C compiler and python3.
#   make demo   builds libmapfile (release), compiles two C examples against it, runs them on real files
#   make test   runs every test: Rust, C programs, examples, header check, dlopen, Python binding,
#               valgrind memcheck of the C tests, the C tests under ASan+UBSan (library built with
#               nightly -Zsanitizer=address when nightly is there), and the CMake/pkg-config integration (valgrind
#               and cmake: .ci/run installs them; without them those parts say loudly that they
#               were skipped)
CC ?= cc
# The C warning flags of every C build in the project live in c-warnings.txt (one list).
C_WARNINGS := $(shell cat c-warnings.txt)
CFLAGS ?= -std=c99 $(C_WARNINGS) -O2
LIBDIR := target/release
BUILD := build/examples

.PHONY: demo test bench lib clean

lib:
	cargo build --release

$(BUILD)/%: examples-c/%.c include/mapfile.h lib
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -Iinclude $< -o $@ -L$(LIBDIR) -Wl,-rpath,$(CURDIR)/$(LIBDIR) -lmapfile

demo: $(BUILD)/count_lines $(BUILD)/first_bytes $(BUILD)/grep_log
	./$(BUILD)/count_lines README.md
	./$(BUILD)/first_bytes Cargo.lock
	./$(BUILD)/grep_log README.md mapfile_open

test:
	@rm -f target/skipped-tests.txt
	cargo build --release
	cargo test --release
	scripts/test-python.sh
	@if command -v valgrind >/dev/null 2>&1; then \
		scripts/test-valgrind.sh; \
	else \
		echo "SKIPPED: the valgrind memcheck runs: valgrind is not installed (apt-get install valgrind; .ci/run does)"; \
	fi
	scripts/test-sanitizers.sh
	@if command -v cmake >/dev/null 2>&1; then \
		scripts/test-cmake-integration.sh; \
	else \
		echo "SKIPPED: the CMake/pkg-config integration tests: cmake is not installed (apt-get install cmake; .ci/run does)"; \
	fi
	@if [ -s target/skipped-tests.txt ]; then echo "== SKIPPED C tests (see the reasons):"; cat target/skipped-tests.txt; fi

# PERFORMANCE.md's scenarios against their peers, one process; BENCH_MIB sets the file size.
BENCH_MIB ?= 1024
bench: lib
	@mkdir -p build/bench
	$(CC) -std=c99 $(C_WARNINGS) -O2 -Iinclude bench/bench.c -o build/bench/bench \
		-L$(LIBDIR) -Wl,-rpath,$(CURDIR)/$(LIBDIR) -lmapfile -lpthread
	./build/bench/bench build/bench $(BENCH_MIB)

clean:
	rm -rf build
	cargo clean
