# The two set-up commands of the README. Needs only the Rust toolchain, a C compiler and python3.
#   make demo   builds libmapfile (release), compiles two C examples against it, runs them on real files
#   make test   runs every test: Rust, C programs, examples, header check, dlopen, Python binding
#               (and its package: pip install into a fresh venv, import from anywhere, the wheel),
#               valgrind memcheck of the C tests, the C tests under ASan+UBSan (library built with
#               nightly -Zsanitizer=address when nightly is there), the Rust tests and C programs
#               again with each other grace-slot variant (scripts/test-grace-slots.sh), and the
#               CMake/pkg-config integration (valgrind
#               and cmake: .ci/run installs them; without them those parts say loudly that they
#               were skipped)
CC ?= cc
# The C warning flags of every C build in the project live in c-warnings.txt (one list).
C_WARNINGS := $(shell cat c-warnings.txt)
CFLAGS ?= -std=c99 $(C_WARNINGS) -O2
LIBDIR := target/release
BUILD := build/examples

.PHONY: demo test bench lib install uninstall clean

# The version and soname major, from Cargo.toml (one home).
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR := $(firstword $(subst ., ,$(VERSION)))
# `make install PREFIX=/usr/local` (DESTDIR honoured); INSTALL_LIBDIR / INSTALL_INCLUDEDIR are
# relative to PREFIX (for example INSTALL_LIBDIR=lib64).
PREFIX ?= /usr/local
INSTALL_LIBDIR ?= lib
INSTALL_INCLUDEDIR ?= include
PC_FILL = sed -e 's|@PROJECT_VERSION@|$(VERSION)|' \
	-e 's|@_mapfile_private_libs@|$(addprefix -l,$(shell cat cmake/static-system-libs.txt))|'

# Builds the library, and the build tree's pkg-config file (the uninstalled variant:
# PKG_CONFIG_PATH=$(CURDIR)/build/pkgconfig pkg-config --cflags --libs mapfile).
lib:
	cargo build --release
	@mkdir -p build/pkgconfig
	@$(PC_FILL) -e 's|@CMAKE_INSTALL_PREFIX@|$(CURDIR)|' -e 's|@CMAKE_INSTALL_LIBDIR@|$(LIBDIR)|' \
		-e 's|@CMAKE_INSTALL_INCLUDEDIR@|include|' -e 's|@MAPFILE_PC_RPATH@|-Wl,-rpath,$${libdir} |' \
		cmake/mapfile.pc.in > build/pkgconfig/mapfile-uninstalled.pc

# The versioned library with its soname links, the static library, the header, mapfile.pc.
install: lib
	install -d $(DESTDIR)$(PREFIX)/$(INSTALL_LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/$(INSTALL_INCLUDEDIR)
	install -m 755 $(LIBDIR)/libmapfile.so $(DESTDIR)$(PREFIX)/$(INSTALL_LIBDIR)/libmapfile.so.$(VERSION)
	ln -sf libmapfile.so.$(VERSION) $(DESTDIR)$(PREFIX)/$(INSTALL_LIBDIR)/libmapfile.so.$(MAJOR)
	ln -sf libmapfile.so.$(MAJOR) $(DESTDIR)$(PREFIX)/$(INSTALL_LIBDIR)/libmapfile.so
	install -m 644 $(LIBDIR)/libmapfile.a $(DESTDIR)$(PREFIX)/$(INSTALL_LIBDIR)/libmapfile.a
	install -m 644 include/mapfile.h include/mapfile.hpp $(DESTDIR)$(PREFIX)/$(INSTALL_INCLUDEDIR)/
	$(PC_FILL) -e 's|@CMAKE_INSTALL_PREFIX@|$(PREFIX)|' -e 's|@CMAKE_INSTALL_LIBDIR@|$(INSTALL_LIBDIR)|' \
		-e 's|@CMAKE_INSTALL_INCLUDEDIR@|$(INSTALL_INCLUDEDIR)|' -e 's|@MAPFILE_PC_RPATH@||' \
		cmake/mapfile.pc.in > $(DESTDIR)$(PREFIX)/$(INSTALL_LIBDIR)/pkgconfig/mapfile.pc

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/$(INSTALL_LIBDIR)/,libmapfile.so.$(VERSION) \
		libmapfile.so.$(MAJOR) libmapfile.so libmapfile.a pkgconfig/mapfile.pc) \
		$(addprefix $(DESTDIR)$(PREFIX)/$(INSTALL_INCLUDEDIR)/,mapfile.h mapfile.hpp)

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
	scripts/test-python-package.sh
	@if command -v valgrind >/dev/null 2>&1; then \
		scripts/test-valgrind.sh; \
	else \
		echo "SKIPPED: the valgrind memcheck runs: valgrind is not installed (apt-get install valgrind; .ci/run does)"; \
	fi
	scripts/test-sanitizers.sh
	scripts/test-grace-slots.sh
	scripts/test-tools.sh
	scripts/test-other-languages.sh
	scripts/test-make-install.sh
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
	@echo
	@echo "Instructions per call (callgrind, deterministic):"
	@scripts/instructions.sh build/bench/bench build/bench
	@echo
	@echo "What each piece of a guarded call costs (bench/guard_model_lib.c, a C model of the fast path):"
	$(CC) -std=c99 $(C_WARNINGS) -O2 -fPIC -shared bench/guard_model_lib.c -o build/bench/libguardmodel.so
	$(CC) -std=c99 $(C_WARNINGS) -O2 -Iinclude bench/guard_model.c -o build/bench/guard_model \
		-Lbuild/bench -L$(LIBDIR) -Wl,-rpath,$(CURDIR)/build/bench:$(CURDIR)/$(LIBDIR) -lguardmodel -lmapfile
	./build/bench/guard_model build/bench

clean:
	rm -rf build
	cargo clean
