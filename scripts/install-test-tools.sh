#!/usr/bin/env bash
# make test: installs what the transport tests need (nginx, tinyproxy, openssl), and the shells and groff that the
# completion and man page tests check their scripts with (zsh, fish, groff), where it is missing and this
# machine can: as root with apt-get (Debian, Ubuntu). Elsewhere it says what is missing, and the tests that need it
# skip, saying so. It never fails the build: the rest of the suite does not need these.
set -uo pipefail
have() { command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 || -x /sbin/$1 ]]; }
missing=()
for tool in nginx tinyproxy openssl zsh fish; do have "$tool" || missing+=("$tool"); done
have groff || missing+=(groff-base)
(( ${#missing[@]} == 0 )) && exit 0
if [[ $(id -u) != 0 ]] || ! have apt-get; then
    echo "install-test-tools: missing ${missing[*]} (needs root and apt-get to install); those tests will skip"
    exit 0
fi
echo "install-test-tools: apt-get install ${missing[*]}"
# A package's own service must not start (nginx would take port 80): policy-rc.d 101 = "do not start", for the
# install only, and only when the machine has none of its own.
policy=/usr/sbin/policy-rc.d
made_policy=
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 0755 "$policy" && made_policy=1
fi
install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; }
install || { apt-get update -qq >/dev/null 2>&1; install; } ||
    echo "install-test-tools: could not install ${missing[*]}; those tests will skip"
[[ -n $made_policy ]] && rm -f "$policy"
exit 0
