# understudy: make, make test, make asan, make install PREFIX= DESTDIR=, make clean

CC ?= cc
# libcurl, libpq, libmicrohttpd and libedit are loaded when first used (host/lazy.h): only their headers here.
PKGS = lua5.4 sqlite3 jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libcurl libpq libmicrohttpd libedit)
PKG_LIBS := $(shell pkg-config --libs $(PKGS))
WARN = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes
ifeq ($(CI),true)
WARN += -Werror
endif
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Ihost
LDLIBS = $(PKG_LIBS) -lm -pthread
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build

STORE_PG ?= host/store_pg.c
SRC = host/main.c host/host.c host/run.c host/step.c host/answer.c host/prompt.c host/terminal.c \
      host/ladder.c host/replay.c host/views.c host/store.c \
      host/store_sqlite.c $(STORE_PG) host/rows.c \
      host/codec.c host/secret.c host/buf.c host/sha256.c host/path.c host/repl.c \
      host/clock.c host/child.c host/interrupt.c host/outside.c stdlib/stdlib.c stdlib/json.c stdlib/sh.c stdlib/fs.c stdlib/time.c \
      host/copy.c host/remote.c host/serve.c host/near.c host/progress.c host/lazy.c host/edit.c stdlib/log.c stdlib/http.c
LUA = lua/prelude.lua lua/format.lua lua/views.lua lua/report.lua lua/rules.lua lua/doc.lua lua/pretty.lua lua/charts.lua lua/serve.lua lua/check.lua
OBJ = $(SRC:%.c=$(BUILD)/%.o) $(BUILD)/embedded.o
HDR = $(wildcard host/*.h stdlib/*.h)

all: understudy

understudy: $(OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $(OBJ) $(LDFLAGS) $(LDLIBS)

$(BUILD)/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/embed: lua/embed.c
	@mkdir -p $(BUILD)
	$(CC) -std=c11 $(WARN) -O2 -o $@ lua/embed.c

$(BUILD)/embedded.c: $(BUILD)/embed $(LUA)
	$(BUILD)/embed $(LUA) > $@.tmp && mv $@.tmp $@

$(BUILD)/embedded.o: $(BUILD)/embedded.c $(HDR)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Test helpers: C unit tests of the codec and a pseudo-terminal driver.
$(BUILD)/test_codec: tests/test_codec.c $(BUILD)/host/codec.o $(BUILD)/host/secret.o $(BUILD)/host/buf.o $(BUILD)/host/sha256.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/test_store: tests/test_store.c $(BUILD)/host/store.o $(BUILD)/host/store_sqlite.o \
		$(STORE_PG:%.c=$(BUILD)/%.o) $(BUILD)/host/clock.o $(BUILD)/host/buf.o $(BUILD)/host/path.o $(BUILD)/host/lazy.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs libpq)

$(BUILD)/ptyrun: tests/ptyrun.c
	$(CC) $(ALL_CFLAGS) -o $@ $< -lutil

test: understudy $(BUILD)/test_codec $(BUILD)/test_store $(BUILD)/ptyrun
	@UNDERSTUDY=$(CURDIR)/understudy TEST_BIN=$(CURDIR)/$(BUILD) bash tests/run

asan:
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" build/asan/understudy-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		UNDERSTUDY=$(CURDIR)/build/asan/understudy-asan TEST_BIN=$(CURDIR)/build/asan bash tests/run

$(BUILD)/understudy-asan: $(OBJ) $(BUILD)/test_codec $(BUILD)/test_store $(BUILD)/ptyrun
	$(CC) $(ALL_CFLAGS) -o $@ $(OBJ) $(LDFLAGS) $(LDLIBS)

install: understudy
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 understudy $(DESTDIR)$(PREFIX)/bin/understudy
	install -d $(DESTDIR)$(PREFIX)/share/understudy $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 docs/understudy.lua $(DESTDIR)$(PREFIX)/share/understudy/understudy.lua
	install -m 644 docs/understudy.1 $(DESTDIR)$(PREFIX)/share/man/man1/understudy.1
	install -m 644 docs/completion.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/understudy

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/understudy $(DESTDIR)$(PREFIX)/share/understudy/understudy.lua \
		$(DESTDIR)$(PREFIX)/share/man/man1/understudy.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/understudy
	-rmdir $(DESTDIR)$(PREFIX)/share/understudy 2>/dev/null

clean:
	rm -rf build understudy

.PHONY: all test asan install uninstall clean examples-doc

# Benchmarks: ratios against floors measured in the same run (never a pass/fail test).
$(BUILD)/benchrun: tests/benchrun.c
	$(CC) $(ALL_CFLAGS) -o $@ $<

$(BUILD)/bench_floor: tests/bench_floor.c
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench_floor_pg: tests/bench_floor_pg.c
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs libpq)

$(BUILD)/loadgen: tests/loadgen.c
	$(CC) $(ALL_CFLAGS) -o $@ $<

bench: understudy $(BUILD)/benchrun $(BUILD)/bench_floor $(BUILD)/bench_floor_pg $(BUILD)/loadgen
	@UNDERSTUDY=$(CURDIR)/understudy TEST_BIN=$(CURDIR)/$(BUILD) bash tests/bench

.PHONY: bench

# The examples' runbooks (examples/*.md), from their source alone: make test checks they are current.
examples-doc: understudy
	for f in examples/*.lua; do UNDERSTUDY_DB=/nonexistent/history.db ./understudy doc $$f --out $${f%.lua}.md || exit 1; done
