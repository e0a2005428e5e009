# ember front door: installs what is missing, then drives Meson/Ninja.
#   make run    build and boot the default guest on the best available accelerator
#   make test   build with ASan+UBSan and run the whole test suite (what CI runs)
#   make soak   long-running tests (suite 'slow')
#   make fuzz   libFuzzer targets (clang)   make bench   benchmarks under bench/
#   make format clang-format every C file
.PHONY: all deps build run test soak fuzz bench format clean

BUILD      ?= build
TEST_BUILD ?= build-test
FUZZ_BUILD ?= build-fuzz
MESON_TEST_ARGS ?=
EMBER_RUN_ARGS ?=

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) --buildtype=release -Db_ndebug=false

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	@bash scripts/run-default-guest.sh $(BUILD) $(EMBER_RUN_ARGS)

$(TEST_BUILD)/build.ninja: | deps
	meson setup $(TEST_BUILD) --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false

test: deps $(TEST_BUILD)/build.ninja
	ninja -C $(TEST_BUILD)
	bash guest/build-default-guest.sh $(TEST_BUILD)/guest
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(TEST_BUILD) --no-suite slow --print-errorlogs --num-processes 2 $(MESON_TEST_ARGS)

soak: deps $(TEST_BUILD)/build.ninja
	ninja -C $(TEST_BUILD)
	bash guest/build-default-guest.sh $(TEST_BUILD)/guest
	meson test -C $(TEST_BUILD) --suite slow --print-errorlogs --timeout-multiplier 10

$(FUZZ_BUILD)/build.ninja: | deps
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false

fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	@echo "fuzz targets: $(FUZZ_BUILD)/tests/fuzz-*"

bench: build
	bash guest/build-default-guest.sh $(BUILD)/guest
	@for b in bench/*.sh; do echo "== $$b"; bash "$$b" $(BUILD) || exit 1; done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(FUZZ_BUILD)
