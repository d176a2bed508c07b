# SPDX-License-Identifier: GPL-2.0-or-later
#
# qemu-mdev top-level Makefile.
#
#   make          build qemu-system-x86_64 and qemu-system-aarch64 (build/qemu)
#   make demo     boot a Debian guest that uses the device and show what it saw
#   make check    run every check through meson's test runner (suites
#                 qemu-mdev, qemu-mdev-guest, qemu-mdev-commands in
#                 build/qemu, qemu-mdev again in build/asan under
#                 ASan+UBSan); JUnit XML in build/*/meson-logs/;
#                 ends with "N passed, N failed"
#   make checkpatch  QEMU's checkpatch.pl on our files and patches
#   make docs     build QEMU's manual with our pages (build/qemu/docs/manual)
#   make check-vhost  the vhost-user-mdev export's tests (our frontend, testpmd)
#   make check-asan  build build/asan (ASan+UBSan) and run unit, qtest, qos,
#                 vhost on it
#   make fuzz     build QEMU's generic-fuzz targets (clang, libFuzzer) in
#                 build/fuzz; make fuzz FUZZ_SECONDS=N runs each of our
#                 configs for N seconds
#   make bench    run the benchmarks
#   make clean    remove build products (keeps downloads and the upstream tree)
#   make distclean  remove build/ entirely
#
# Each target runs ./configure first when the tree is not configured yet.

TOP       := $(CURDIR)
BUILD     := $(TOP)/build
QEMU_BUILD := $(BUILD)/qemu
ASAN_BUILD := $(BUILD)/asan
FUZZ_BUILD := $(BUILD)/fuzz
NINJA     ?= ninja
JOBS      ?= $(shell nproc)

# Guest test selection, e.g. make check-guest GUEST_FILTER=aarch64
GUEST_FILTER ?=
DEMO_ARCH ?= aarch64
# make fuzz FUZZ_SECONDS=1800 runs each fuzzing config for 30 minutes
FUZZ_SECONDS ?=

QEMU_BINS := qemu-system-x86_64 qemu-system-aarch64

# QEMU compiles with paths relative to build/qemu: let ccache share results
# between clones of this repository.
export CCACHE_NOHASHDIR := true
export CCACHE_BASEDIR := $(TOP)

.PHONY: all build build-asan configure demo check check-design check-unit \
        check-qtest check-vhost check-guest check-commands check-asan \
        checkpatch docs \
        fuzz bench \
        clean distclean

# Each target is a sequence (configure, assemble, ninja, tests); ninja
# parallelises.  Two configures or assemblies at once would share build/src.
.NOTPARALLEL:

all: build

$(QEMU_BUILD)/build.ninja:
	./configure

$(ASAN_BUILD)/build.ninja:
	./configure --asan

$(FUZZ_BUILD)/build.ninja:
	./configure --fuzz

configure: $(QEMU_BUILD)/build.ninja

# Re-link the overlay (new files of ours) and re-apply a changed patch
# series before every build; both are no-ops when nothing changed.
build: $(QEMU_BUILD)/build.ninja
	@scripts/assemble-tree.sh $(BUILD)/upstream $(BUILD)/src
	$(NINJA) -C $(QEMU_BUILD) -j$(JOBS) $(QEMU_BINS) $(shell scripts/our-tests.sh targets)

# The same tree, targets and devices with QEMU's --enable-asan --enable-ubsan.
build-asan: $(ASAN_BUILD)/build.ninja
	@scripts/assemble-tree.sh $(BUILD)/upstream $(BUILD)/src
	$(NINJA) -C $(ASAN_BUILD) -j$(JOBS) $(QEMU_BINS) $(shell scripts/our-tests.sh targets)

# QEMU's libFuzzer targets, with our configs (patches/0006).
fuzz: $(FUZZ_BUILD)/build.ninja
	@scripts/assemble-tree.sh $(BUILD)/upstream $(BUILD)/src
	$(NINJA) -C $(FUZZ_BUILD) -j$(JOBS) qemu-fuzz-x86_64 qemu-fuzz-aarch64
	@scripts/fuzz.sh $(FUZZ_SECONDS)

demo: build
	tests/guest/demo.sh $(DEMO_ARCH)

check: build build-asan
	@scripts/check.sh all

# The check-* targets run meson suites: the tree must be assembled and the
# test list current (a no-op build when it is).
check-design: build
	@scripts/check.sh design

# QEMU's manual with our pages and QAPI schema, Sphinx warnings as errors.
docs: $(QEMU_BUILD)/build.ninja
	@scripts/assemble-tree.sh $(BUILD)/upstream $(BUILD)/src
	$(NINJA) -C $(QEMU_BUILD) -j$(JOBS) sphinxdocs
	@echo "docs: open build/qemu/docs/manual/index.html;" \
	      "ours: system/devices/virtio-mdev.html, devel/virtio-mdev-design.html"

# QEMU's scripts/checkpatch.pl on our C files and patches (in make check).
checkpatch: build
	@scripts/check.sh checkpatch

check-unit: build
	@scripts/check.sh unit

check-qtest: build
	@scripts/check.sh qtest

# The vhost-user-mdev export: our test frontend's cases and DPDK testpmd.
check-vhost: build
	@scripts/check.sh vhost

check-guest: build
	@GUEST_FILTER="$(GUEST_FILTER)" scripts/check.sh guest

# Every QEMU command README.md and docs/system/devices/ show.
check-commands: build
	@scripts/check.sh commands

check-asan: build-asan
	@scripts/check.sh asan

bench: build
	@scripts/bench.sh

clean:
	rm -rf $(QEMU_BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(BUILD)/guest/out $(BUILD)/logs

distclean:
	rm -rf $(BUILD)
