#!/usr/bin/env bash
# Installs what building and testing netpulse needs, skipping what is already there.
# Usage: scripts/setup.sh [--test-tools]   (--test-tools also installs what the integration
# and browser tests run against: Debian's Chromium, nginx, iproute2, postgresql, prometheus (promtool) and
# dnsmasq, aiosmtpd, and schemathesis in a virtualenv under target/tools)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 0.3.11 needs a newer rustc than the stable toolchain this project builds with.
if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  say "installing cargo-leptos 0.3.10 (about 15 minutes, once)"
  cargo install cargo-leptos --locked --version 0.3.10
fi

# cargo-leptos runs the wasm-bindgen on PATH without checking it: it must match Cargo.lock.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (found '${have:-none}')"
  # Not --locked: one of its locked dependencies is no longer in the registry.
  cargo install wasm-bindgen-cli --version "$want"
fi

# Playwright's runner, binaryen's wasm-opt for release builds, and the OpenID provider the
# single sign-on test starts. No browser download.
if [ ! -x end2end/node_modules/.bin/playwright ] || [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/oidc-provider ]; then
  say "installing npm packages in end2end/"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

if [ "${1:-}" = "--test-tools" ]; then
  packages=()
  [ -x /usr/bin/chromium ] || packages+=(chromium)
  [ -x /usr/sbin/nginx ] || packages+=(nginx)
  # The dead-peer test builds a network namespace with `ip`.
  command -v ip >/dev/null 2>&1 || packages+=(iproute2)
  # The metrics test checks /metrics with promtool, which comes with Debian's prometheus
  # (installed without its recommends, and kept from starting like nginx, below).
  minimal=()
  command -v promtool >/dev/null 2>&1 || minimal+=(prometheus)
  # The DNS monitor test asks a dnsmasq of its own.
  [ -x /usr/sbin/dnsmasq ] || minimal+=(dnsmasq)
  # The store tests start PostgreSQL clusters of their own with initdb and pg_ctl.
  if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    minimal+=(postgresql)
  fi
  # The email test's SMTP server: from PyPI when pip may install, else Debian's package.
  if ! python3 -c 'import aiosmtpd' 2>/dev/null && ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
    say "installing aiosmtpd"
    python3 -m pip install -q aiosmtpd 2>/dev/null || packages+=(python3-aiosmtpd)
  fi
  # The OpenAPI test runs schemathesis, from PyPI, in a virtualenv of its own (Debian's venv module may need its package).
  st_venv=target/tools/schemathesis
  if [ ! -x "$st_venv/bin/st" ] && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    packages+=(python3-venv)
  fi
  if [ ${#packages[@]} -gt 0 ] || [ ${#minimal[@]} -gt 0 ]; then
    say "installing ${packages[*]} ${minimal[*]} from Debian's packages"
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    # The tests run their own nginx and dnsmasq (and need no prometheus server); keep the packages from starting them as services.
    no_services=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      no_services=yes
      printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
      $sudo chmod +x /usr/sbin/policy-rc.d
    fi
    $sudo apt-get update -qq
    [ ${#packages[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}"
    [ ${#minimal[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${minimal[@]}"
    [ -z "$no_services" ] || $sudo rm -f /usr/sbin/policy-rc.d
  fi
  if [ ! -x "$st_venv/bin/st" ]; then
    say "installing schemathesis in $st_venv"
    rm -rf "$st_venv"
    python3 -m venv "$st_venv"
    "$st_venv/bin/pip" install -q schemathesis==4.32.5
  fi
fi
