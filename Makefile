# imgpipe — quick start: `make demo` and `make test`.
SHELL := /bin/bash
DEB_PACKAGES := docker-registry skopeo umoci gnupg jq openssl apache2-utils bsdutils python3 libsodium23 docker.io podman zstd squashfs-tools fakeroot parallel bats xz-utils
# The man page and completion tests: man --warnings, groff's tbl, bash-completion's loader.
DEB_PACKAGES += man-db groff-base bash-completion
NPM_STAMP := node_modules/.package-lock.json

# make install: GNU-style directories; DESTDIR is prepended to each, for staged installs (packages).
PREFIX = /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
LIBDIR = $(PREFIX)/lib/imgpipe
MANDIR = $(PREFIX)/share/man
DOCDIR = $(PREFIX)/share/doc/imgpipe
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
INSTALL_DIRS = --destdir '$(DESTDIR)' --prefix '$(PREFIX)' --bindir '$(BINDIR)' --libdir '$(LIBDIR)' --mandir '$(MANDIR)' --docdir '$(DOCDIR)' --bashcompdir '$(BASHCOMPDIR)'

.PHONY: all build deps deb-deps demo test lint bench clean man completion install uninstall

all: build

# Debian packages the tests and the demo use, installed only when missing (needs root or sudo).
deb-deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing" >&2; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: $(NPM_STAMP)

build: deps
	npx tsc -p tsconfig.json --noEmit
	node scripts/bundle.mjs
	@$(MAKE) --no-print-directory man completion

# Man pages from docs/commands/*.md (roff, one per page, into dist/man; scripts/man.mjs).
man:
	node scripts/man.mjs --out dist/man --docdir '$(DOCDIR)'

# Bash completion from lib/cli/command-flags.ts (dist/completion/imgpipe.bash; scripts/completion.mjs).
completion: deps
	node scripts/completion.mjs --out dist/completion/imgpipe.bash

# Install the built commands (LIBDIR, links in BINDIR), man pages, bash completion and docs; the
# list of what went where is LIBDIR/installed-files, which uninstall reads (scripts/install.mjs).
install: build
	node scripts/install.mjs install $(INSTALL_DIRS)

uninstall:
	node scripts/install.mjs uninstall $(INSTALL_DIRS)

demo: build
	@command -v jq >/dev/null || $(MAKE) --no-print-directory deb-deps DEB_PACKAGES=jq
	bash scripts/demo.sh

# Formatting and lint (Biome, biome.json): `npx biome format --write .` mends the formatting.
lint: deps
	npx biome ci .

test: deb-deps build lint
	npx vitest run

clean:
	rm -rf dist

# Benchmarks print figures; they are not tests (docs/performance.md records what they measured).
# bench/transfer.ts: copy and sync against skopeo; sizes from BENCH_* and RUNS (see the file), storage under $TMPDIR.
bench: deb-deps build
	node scripts/run-ts.mjs bench/startup.ts
	node scripts/run-ts.mjs bench/transfer.ts
