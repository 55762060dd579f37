# onsale build. `make` builds everything warning-free; `make test` installs
# missing Debian packages, builds and runs every test; `make run` starts the
# demo. Programs are the .c files named onsale*.c or bench-*.c; every other .c
# file in a folder goes into that folder's static library.

BUILD    ?= build
CC       ?= cc
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-missing-field-initializers
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -I. -MMD -MP -D_GNU_SOURCE
LDLIBS   := -luring -lck -lxxhash -lsodium -lsystemd -lpthread -lm
LDFLAGS  ?=

# Sources are found in nested folders (net/wal/, tools/demo/, bench/pg/ ...);
# a library takes every non-program .c file under its top folders.
is_prog   = $(filter onsale% bench-%,$(notdir $(basename $(1))))
find_c    = $(sort $(shell find $(1) -name '*.c' 2>/dev/null))
lib_srcs  = $(foreach f,$(call find_c,$(1)),$(if $(call is_prog,$(f)),,$(f)))
prog_srcs = $(foreach f,$(call find_c,$(1)),$(if $(call is_prog,$(f)),$(f),))
objs      = $(patsubst %.c,$(BUILD)/%.o,$(1))

CORE_LIB  := $(BUILD)/libonsale_core.a
NET_LIB   := $(BUILD)/libonsale_net.a
TOOL_LIB  := $(BUILD)/libonsale_tools.a
LIBS      := $(TOOL_LIB) $(NET_LIB) $(CORE_LIB)

PROG_SRCS := $(call prog_srcs,net tools bench)
PROGS     := $(patsubst %.c,$(BUILD)/bin/%,$(notdir $(PROG_SRCS)))

# Test programs are tests/<kind>/test_*.c (fuzz targets: the sanitizer
# build below); every other .c file under tests/ is a helper linked into each.
TEST_KINDS  := unit integration sim crash
TEST_SRCS   := $(foreach k,$(TEST_KINDS),$(sort $(wildcard tests/$(k)/test_*.c)))
TEST_HELP   := $(filter-out $(TEST_SRCS) tests/fuzz/%,$(call find_c,tests))
TESTS       := $(patsubst %.c,$(BUILD)/%,$(TEST_SRCS))
SHELL_TESTS := $(foreach k,$(TEST_KINDS),$(sort $(wildcard tests/$(k)/test_*.sh)))

.SECONDARY: # keep intermediate objects (test helpers), so nothing rebuilds twice
.PHONY: all deps layers test run demo bench bench-curve bench-core bench-wal compare bench-plots asan ubsan tsan memcheck fuzz analyze format format-check clean
all: $(PROGS) $(TESTS)

deps:
	@tools/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(CORE_LIB): $(call objs,$(call lib_srcs,core))
$(NET_LIB):  $(call objs,$(call lib_srcs,net))
$(TOOL_LIB): $(call objs,$(call lib_srcs,tools bench))
$(LIBS):
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# ---- libonsale: the client library (net/client/) ----
# Client and codec objects as a static library, a shared one (objects built
# again with -fPIC, soname libonsale.so.0) and a pkg-config file for this
# tree: PKG_CONFIG_PATH=$(BUILD) pkg-config --cflags --libs onsale.
# core/token.c verifies e-ticket tokens for scanners (libsodium).
ONSALE_SRCS    := $(call find_c,net/client net/proto) core/status.c core/token.c
ONSALE_VERSION := $(shell sed -n 's/^\#define ONSALE_VERSION "\(.*\)"/\1/p' net/client/onsale.h)
ONSALE_SONAME  := libonsale.so.0
ONSALE_OUT     := $(BUILD)/libonsale.a $(BUILD)/libonsale.so $(BUILD)/onsale.pc

.PHONY: lib
all: lib
lib: $(ONSALE_OUT)

$(BUILD)/libonsale.a: $(call objs,$(ONSALE_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@

$(BUILD)/$(ONSALE_SONAME): $(patsubst %.c,$(BUILD)/pic/%.o,$(ONSALE_SRCS))
	$(CC) $(LDFLAGS) -shared -Wl,-soname,$(ONSALE_SONAME) -o $@ $^ -lsodium

$(BUILD)/libonsale.so: $(BUILD)/$(ONSALE_SONAME)
	ln -sf $(ONSALE_SONAME) $@

$(BUILD)/onsale.pc: net/client/onsale.h Makefile
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(CURDIR)' 'libdir=$(abspath $(BUILD))' 'includedir=$${prefix}' '' \
	  'Name: onsale' 'Description: onsale client library (libonsale)' \
	  'Version: $(ONSALE_VERSION)' 'Libs: -L$${libdir} -lonsale -lsodium' \
	  'Cflags: -I$${includedir}' > $@
# ---- end libonsale ----

# Per-program extra compiler flags and libraries: NAME_CFLAGS, NAME_LDLIBS
# (NAME as in build/bin/NAME). bench-pg: libpq (libpq-dev, tools/install-deps.sh).
bench-pg_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null)
bench-pg_LDLIBS := $(or $(shell pkg-config --libs libpq 2>/dev/null),-lpq)
$(call objs,$(wildcard bench/pg/*.c)): ALL_CFLAGS += $(bench-pg_CFLAGS)
# bench-redis: hiredis (libhiredis-dev).
bench-redis_LDLIBS := -lhiredis
# onsale-ctl: QR codes of e-tickets (libqrencode-dev), PNG written with zlib.
onsale-ctl_LDLIBS := -lqrencode -lz
# onsaled: jemalloc as its allocator (its statistics are in /metrics, which
# finds mallctl by a weak symbol); not under ASan, which brings its own
# (`make asan` passes JEMALLOC=).
JEMALLOC ?= -ljemalloc
onsaled_LDLIBS := $(JEMALLOC)

define prog_rule
$(call objs,$(1)): ALL_CFLAGS += $$($(notdir $(basename $(1)))_CFLAGS)
$(BUILD)/bin/$(notdir $(basename $(1))): $(call objs,$(1)) $(LIBS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS) -o $$@ $$< $(LIBS) $$(LDLIBS) $$($(notdir $(basename $(1)))_LDLIBS)
endef
$(foreach p,$(PROG_SRCS),$(eval $(call prog_rule,$(p))))

$(BUILD)/tests/%: tests/%.c $(call objs,$(TEST_HELP)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(call objs,$(TEST_HELP)) $(LIBS) -lcmocka $(LDLIBS)

# The server simulator (tests/sim/test_server_sim.c) links its own build of
# the cross-shard layer (net/shard/*.c, the same sources) with small pools,
# as TigerBeetle's VOPR runs on a test configuration of its constants: a
# node with the production pools touches ~26 MB at node_init, which at a
# few ms per init would make thousands of seeded runs (each restart
# re-inits every node) take minutes, and small pools drive the paths where
# a pool runs dry. Objects come before the archives, so the library's copy
# of net/shard/ is not linked into this test.
SIM_NODE_LIMITS := -DSHARD_MSGS_MAX=512u -DSHARD_REQS_MAX=128u -DSHARD_BIGBUFS=4u \
                   -DSHARD_REMOTE_COUNTS_MAX=1024u
SIM_NODE_OBJS   := $(patsubst net/shard/%.c,$(BUILD)/sim-node/%.o,$(call lib_srcs,net/shard))
$(BUILD)/sim-node/%.o: net/shard/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SIM_NODE_LIMITS) -c $< -o $@
$(BUILD)/tests/sim/test_server_sim: tests/sim/test_server_sim.c $(SIM_NODE_OBJS) $(call objs,$(TEST_HELP)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(SIM_NODE_OBJS) $(call objs,$(TEST_HELP)) $(LIBS) -lcmocka $(LDLIBS)

# make test and make run build with a job per CPU (on 2 cores a fresh
# build and sanitizer build took 162 s one at a time, 96 s this way),
# unless make was given its own -j.
BUILD_JOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 2))

# One install-deps call (one apt-get update on a fresh machine): the build
# packages, gnuplot and jq for tests/integration/test_bench_plots.sh, the peer
# servers so test_bench_redis and test_bench_pg run rather than skip,
# prometheus for promtool (test_server_metrics checks /metrics with it),
# xmllint, rsvg-convert and zbarimg for test_ctl's seat maps and QR codes
# (all without recommends: gnuplot-nox is 4 small packages instead of 44),
# and clang (with its recommended runtimes) for the sanitizer and fuzz lines.
# SAN_QUICK=0 leaves those out (make asan and make ubsan: the whole suite
# is sanitized there already).
SAN_QUICK ?= 1
test:
	@tools/install-deps.sh clang g++ --no-recommends gnuplot-nox jq redis-server postgresql prometheus \
	  libxml2-utils librsvg2-bin zbar-tools
	@$(MAKE) $(BUILD_JOBS) --no-print-directory all
	@[ "$(SAN_QUICK)" = 0 ] || $(MAKE) $(BUILD_JOBS) --no-print-directory san-runs
	@LAYERS_BUILD=$(BUILD) tests/run.sh $(BUILD) tools/layers.sh $(TESTS) $(SHELL_TESTS) \
	  $(if $(filter 0,$(SAN_QUICK)),,$(SAN_RUNS))

# layers: no file includes a header of a layer above its own, no two folders
# include each other (the order is written once, in tools/layers.sh), and,
# on the objects of $(BUILD), no .c files call each other in a pair or a loop
# (make test checks the build it just made).
layers:
	@tools/layers.sh $(BUILD)

run: deps
	@$(MAKE) $(BUILD_JOBS) --no-print-directory all
	@tools/demo/run-demo.sh $(BUILD)

bench-core: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/bin/bench-core

# WAL durability benchmark on the real disk (a fresh directory in
# ./var/bench-wal, removed after: nothing else there is touched); pass
# options as BENCH_WAL_ARGS="--seconds 5 --dir /mnt/x".
bench-wal: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/bin/bench-wal $(BENCH_WAL_ARGS)

# bench: onsale-bench (bench/onsale/) over the network:
# bench/scripts/bench-local.sh starts a fresh onsaled (temporary data
# directory, free port, keys from --gen-config), runs ga-flash and
# seat-flash with --json --verify, prints their JSON lines and stops the server. Extra options as
# BENCH_ARGS="--connections 2 --depth 64" (after the defaults: 1,000,000
# units, 100,000 seats, 8 x 256). It does so in two CPU settings
# (bench/scripts/cpu-settings.sh): shared (onsaled on every CPU, the load
# beside it) and dedicated (onsaled on SERVER_CPUS, the load on
# BENCH_CPUS; on 2 CPUs one shard on CPU 1, the load on CPU 0);
# BENCH_SETTING=shared or =dedicated runs one. The in-process core and WAL
# benchmarks stay `make bench-core` and `make bench-wal`.
bench: deps
	@$(MAKE) --no-print-directory all
	@BENCH_SETTING="$(BENCH_SETTING)" bench/scripts/bench-local.sh $(BUILD) $(BENCH_ARGS)
BENCH_SETTING ?= shared dedicated

# bench-curve: the open-loop latency curve (bench/scripts/latency-curve.sh):
# per CPU setting (CURVE_SETTING, default both) the closed-loop peak, then
# offered loads up to 1.5 x the peak, each on a fresh onsaled; JSON lines
# in var/latency-curve.json and a Markdown table for docs/PERFORMANCE.md.
# About a minute per setting. Extra onsale-bench options as CURVE_ARGS.
bench-curve: deps
	@$(MAKE) --no-print-directory all
	@bench/scripts/latency-curve.sh $(BUILD) $(CURVE_ARGS)

# bench-offenders: onsale-offend (bench/offend/) against a fresh onsaled
# (bench/scripts/offend-local.sh): a well-behaved client's latency alone and
# beside each offender kind, what the offender saw, the server's RSS; the
# table on stderr, JSON lines in var/offend.json; in the shared and dedicated
# CPU settings (OFFEND_SETTING=shared or =dedicated runs one). About 90 s
# each; shorter as
# OFFEND_ARGS="--duration 2 --kinds slowloris,idle".
.PHONY: bench-offenders
bench-offenders: deps
	@$(MAKE) --no-print-directory all
	@OFFEND_SETTING="$(OFFEND_SETTING)" bench/scripts/offend-local.sh $(BUILD) $(OFFEND_ARGS)
OFFEND_SETTING ?= shared dedicated

# compare: onsale, Redis and PostgreSQL side by side on ga-flash
# and seat-flash at matched durability (bench/scripts/compare.sh); installs the
# servers and jq if missing (runtime only: `make` does not need them).
# Prints one table, writes var/compare.json. Options for every bench as
# COMPARE_ARGS="--units 50000 --duration 10"; see bench/scripts/compare.sh.
compare: deps
	@tools/install-deps.sh redis-server postgresql jq
	@$(MAKE) --no-print-directory all
	@bench/scripts/compare.sh $(BUILD)

# bench-plots: PNG charts (gnuplot) of make bench's var/bench.json and
# make compare's var/compare.json into docs/img/ (bench/scripts/bench-plots.sh,
# charts in bench/scripts/plots/*.gp). Other inputs: PLOT_INPUT=file
# COMPARE_JSON=file; a line under each title: PLOT_NOTE="measured while ...".
bench-plots:
	@tools/install-deps.sh --no-recommends gnuplot-nox jq
	@bench/scripts/bench-plots.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan CC=clang \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -DONSALE_DEBUG_CHECKS" \
	  LDFLAGS="-fsanitize=address,undefined" OPT=-O1 JEMALLOC= SAN_QUICK=0 test

ubsan:
	@$(MAKE) --no-print-directory BUILD=build/ubsan CC=clang \
	  EXTRA_CFLAGS="-fsanitize=undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=undefined" SAN_QUICK=0 test

# The tests whose code runs threads of its own beside the caller's (the
# replaying snapshot writer) under ThreadSanitizer. Slow (about 20 min on 2
# cores: every table memset is instrumented), so not part of `make test`;
# WAIT_MS_MAX lets the writer take that long.
TSAN_TESTS := tests/unit/test_snapshot_fork
tsan:
	@$(MAKE) --no-print-directory BUILD=build/tsan CC=clang \
	  EXTRA_CFLAGS="-fsanitize=thread -DWAIT_MS_MAX=1800000" \
	  LDFLAGS="-fsanitize=thread" OPT=-O1 JEMALLOC= $(addprefix build/tsan/,$(TSAN_TESTS))
	@for t in $(TSAN_TESTS); do \
	  TSAN_OPTIONS="halt_on_error=1" build/tsan/$$t || exit 1; done

# ---- valgrind memcheck ----
# The integration tests against a real onsaled, each test program and every
# onsaled it starts under valgrind memcheck (tests/support/memcheck.sh; logs
# in build/memcheck/memcheck-logs/). Its own build: glibc malloc instead of
# jemalloc (memcheck tracks glibc's), and shards that sleep at most 1 ms in
# io_uring_enter (valgrind 3.19 holds its big lock in that call: see
# SHARD_WAIT_MS_MAX in core/limits.h). Not part of `make test`: it takes
# minutes (tests/README.md, "Valgrind").
# (test_server_snapshot is left out: it needs snapshots to be taken within
# its load's time, which valgrind's slowdown does not leave; the crash and
# agreement tests SIGKILL onsaled, which then writes no summary.)
MEMCHECK_TESTS := test_server_ops test_server_roles test_server_keys test_server_tickets \
                  test_server_meta test_server_retire test_server_notify test_server_metrics \
                  test_server_shards test_ctl
.PHONY: memcheck
memcheck:
	@$(MAKE) --no-print-directory BUILD=build/memcheck \
	  EXTRA_CFLAGS="-DSHARD_WAIT_MS_MAX=1 -DONSALE_CALL_TIMEOUT_MS_DEFAULT=120000" \
	  JEMALLOC= build/memcheck/bin/onsaled build/memcheck/bin/onsale-ctl build/memcheck/bin/onsale-wal \
	  $(patsubst %,build/memcheck/tests/integration/%,$(MEMCHECK_TESTS))
	tests/support/memcheck.sh build/memcheck \
	  $(patsubst %,build/memcheck/tests/integration/%,$(MEMCHECK_TESTS))

# ---- sanitizers and fuzzing ----
# One clang build with AddressSanitizer and UndefinedBehaviorSanitizer,
# $(BUILD)/san: the libraries (also instrumented for libFuzzer's coverage,
# so the same objects serve both), a libFuzzer target per
# tests/fuzz/fuzz_<name>.c and the test programs of SAN_TESTS. `make test`
# runs each fuzz target over its seed corpus tests/fuzz/corpus-<name> and
# the SAN_TESTS programs (the simulations on fewer seeds: SAN_ENV), one
# result line each, through the small scripts $(BUILD)/san/run/ (they
# report a skip when clang is missing). `make fuzz` runs each target for
# FUZZ_SECONDS; a crash fails it, with the input left in $(BUILD)/fuzz/.
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SECONDS ?= 20
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SAN_TESTS    := unit/test_core_record unit/test_core_htab unit/test_core_htab_limits \
                unit/test_core_serial unit/test_core_hold \
                unit/test_core_event unit/test_core_best unit/test_core_ticket \
                unit/test_core_stock unit/test_core_retire unit/test_core_rules \
                unit/test_core_token unit/test_core_xchg unit/test_proto unit/test_client unit/test_wal_format \
                unit/test_wal_read unit/test_snapshot sim/test_core_sim sim/test_server_sim
SAN_ENV      := SEEDS=10 SIM_SEEDS=150
SAN_BUILD    := $(BUILD)/san
SAN_RUNS     := $(patsubst %,$(SAN_BUILD)/run/fuzz_%,$(FUZZ_TARGETS)) \
                $(patsubst %,$(SAN_BUILD)/run/san_%,$(notdir $(SAN_TESTS)))
HAVE_CLANG   := $(shell command -v clang 2>/dev/null)

# Inside the sanitizer build (BUILD=$(BUILD)/san): the targets it links.
.PHONY: san-progs san-runs
FUZZ_HELP := $(BUILD)/tests/support/sim_disk.o $(BUILD)/tests/support/cmd_gen.o
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HELP) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(FUZZ_HELP) $(LIBS) $(LDLIBS)
# fuzz_snapshot links its own build of core/ (and the snapshot file
# checks) with small limits, as the server simulator does. The holds and
# tickets the loader reads are bounded by the stream's length (a count the
# bytes left cannot hold is refused first), but a read event's tables are
# then sized for the units its tiers place (event_tables_fit), as a live
# one's are when its tiers are added: a GA tier of a few dozen bytes can
# place EVENT_UNITS_MAX units and so ask, with the production limits and
# legitimately, for about 2 GB (its hold slots alone 1.5 GB), and the
# fuzzer would stop on out-of-memory.
FUZZ_SMALL_LIMITS := -DEVENTS_MAX=8u -DEVENT_UNITS_MAX=65536u -DSEATS_MAX=16384u -DMETRICS_EVENTS_TOP=8u
FUZZ_SMALL_OBJS   := $(patsubst %.c,$(BUILD)/small/%.o,$(call lib_srcs,core) net/store/snapshot_image.c)
$(BUILD)/small/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUZZ_SMALL_LIMITS) -c $< -o $@
$(BUILD)/fuzz/fuzz_snapshot: tests/fuzz/fuzz_snapshot.c $(FUZZ_SMALL_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUZZ_SMALL_LIMITS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< \
	  $(FUZZ_SMALL_OBJS) $(LDLIBS)
san-progs: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS)) $(patsubst %,$(BUILD)/tests/%,$(SAN_TESTS))

# The clang build, when clang is there; the run scripts either way.
san-runs:
ifneq ($(HAVE_CLANG),)
	@$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) CC=clang OPT=-O1 \
	  EXTRA_CFLAGS="$(SAN_FLAGS) -fsanitize=fuzzer-no-link" LDFLAGS="$(SAN_FLAGS)" san-progs
endif
	@mkdir -p $(SAN_BUILD)/run
	@for t in $(FUZZ_TARGETS); do tests/fuzz/san-run.sh fuzz $(SAN_BUILD)/fuzz/fuzz_$$t \
	  tests/fuzz/corpus-$$t > $(SAN_BUILD)/run/fuzz_$$t; done
	@for t in $(SAN_TESTS); do tests/fuzz/san-run.sh test $(SAN_BUILD)/tests/$$t "$(SAN_ENV)" \
	  > $(SAN_BUILD)/run/san_$$(basename $$t); done
	@chmod +x $(SAN_RUNS)

# fuzz-corpus: writes the seed corpora again from the encoders
# (tests/fuzz/gen_corpus.c; commit what changes).
.PHONY: fuzz-corpus
$(BUILD)/fuzz/gen_corpus: tests/fuzz/gen_corpus.c $(call objs,$(TEST_HELP)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(call objs,$(TEST_HELP)) $(LIBS) $(LDLIBS)
fuzz-corpus: $(BUILD)/fuzz/gen_corpus
	$(BUILD)/fuzz/gen_corpus tests/fuzz

fuzz: san-runs
	@test -n "$(HAVE_CLANG)" || { echo "fuzz: needs clang (tools/install-deps.sh clang)"; exit 1; }
	@mkdir -p $(BUILD)/fuzz
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	  dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(SAN_BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$dict \
	    -artifact_prefix=$(BUILD)/fuzz/$$t- $(BUILD)/fuzz/corpus-$$t tests/fuzz/corpus-$$t \
	    > $(BUILD)/fuzz/$$t.log 2>&1 || { tail -n 60 $(BUILD)/fuzz/$$t.log; \
	    echo "fuzz: $$t failed; input in $(BUILD)/fuzz/$$t-*"; exit 1; }; \
	  grep -h 'stat::number_of_executed_units\|cov:' $(BUILD)/fuzz/$$t.log | tail -n 2; \
	done

analyze:
	cppcheck --quiet --enable=warning,performance,portability --error-exitcode=1 \
	  --suppress=missingIncludeSystem -I. core net tools bench

# format: rewrites every C file (nested folders too) to .clang-format;
# format-check: the same as a dry run, failing when any line would change
# (the tree is formatted: run it before committing).
FORMAT_SRCS = $(shell find core net tools bench tests -name '*.[ch]' | sort)

format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	@clang-format --dry-run $(FORMAT_SRCS) 2>&1 | grep -c 'code should be clang-formatted' | \
	  awk '{ print "format-check: " $$1 " places clang-format would change" } $$1 > 0 { exit 1 }'

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
