#!/usr/bin/env bash
# Make SoftHSM2 available and initialize a throwaway PKCS#11 token for lessee-crypto's tests.
#
# Usage:   eval "$(scripts/ensure-softhsm.sh)"
#          cargo test -p lessee-crypto
#
# - Installs the Debian package `softhsm2` with apt-get when softhsm2-util or the module is
#   missing (runs `apt-get update` and retries if the first install fails). Needs root or sudo.
# - Creates a SoftHSM2 configuration with its own token directory under LESSEE_SOFTHSM_DIR
#   (default: a new `mktemp -d`), so nothing touches the system's token store, and initializes
#   one token in the first free slot.
# - Prints `export NAME=value` lines on stdout (everything else goes to stderr):
#     SOFTHSM2_CONF              the configuration file (read by libsofthsm2 at C_Initialize)
#     LESSEE_PKCS11_MODULE       the PKCS#11 module (/usr/lib/softhsm/libsofthsm2.so on Debian)
#     LESSEE_PKCS11_TOKEN_LABEL  the token's label
#     LESSEE_PKCS11_PIN          the user PIN
#
# Inputs (all optional): LESSEE_SOFTHSM_DIR, LESSEE_PKCS11_TOKEN_LABEL (default lessee-test),
# LESSEE_PKCS11_PIN (default 1234), LESSEE_PKCS11_SO_PIN (default 12345678).
# Exits non-zero when SoftHSM2 cannot be installed or the token cannot be initialized.
set -euo pipefail

log() { echo "ensure-softhsm: $*" >&2; }

find_module() {
    local candidate
    for candidate in \
        /usr/lib/softhsm/libsofthsm2.so \
        /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
        /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so \
        /usr/local/lib/softhsm/libsofthsm2.so; do
        if [ -f "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        log "need root (or sudo) to run: $*"
        return 1
    fi
}

install_softhsm() {
    if ! command -v apt-get >/dev/null 2>&1; then
        log "softhsm2 is missing and apt-get is not available: install SoftHSM2 by hand"
        return 1
    fi
    log "installing softhsm2 with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if ! as_root apt-get install -y --no-install-recommends softhsm2 >&2; then
        log "install failed; running apt-get update and retrying"
        as_root apt-get update >&2
        as_root apt-get install -y --no-install-recommends softhsm2 >&2
    fi
}

if ! command -v softhsm2-util >/dev/null 2>&1 || ! find_module >/dev/null; then
    install_softhsm
fi
module="$(find_module)" || { log "libsofthsm2.so not found after installing softhsm2"; exit 1; }
command -v softhsm2-util >/dev/null 2>&1 || { log "softhsm2-util not found after installing softhsm2"; exit 1; }

dir="${LESSEE_SOFTHSM_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/lessee-softhsm.XXXXXX")}"
mkdir -p "$dir/tokens"
chmod 700 "$dir" "$dir/tokens"
conf="$dir/softhsm2.conf"
cat >"$conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF

label="${LESSEE_PKCS11_TOKEN_LABEL:-lessee-test}"
pin="${LESSEE_PKCS11_PIN:-1234}"
so_pin="${LESSEE_PKCS11_SO_PIN:-12345678}"

if SOFTHSM2_CONF="$conf" softhsm2-util --show-slots 2>/dev/null | grep -Eq "^[[:space:]]*Label:[[:space:]]*$label[[:space:]]*\$"; then
    log "token '$label' already initialized in $dir"
else
    SOFTHSM2_CONF="$conf" softhsm2-util --init-token --free --label "$label" \
        --so-pin "$so_pin" --pin "$pin" >&2
fi

printf 'export SOFTHSM2_CONF=%q\n' "$conf"
printf 'export LESSEE_PKCS11_MODULE=%q\n' "$module"
printf 'export LESSEE_PKCS11_TOKEN_LABEL=%q\n' "$label"
printf 'export LESSEE_PKCS11_PIN=%q\n' "$pin"
