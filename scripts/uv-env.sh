# Source this file to hand pip's package sources to uv (and so to tox-uv).
#
# uv does not read pip's configuration. Where pip is configured with find-links, extra index
# URLs or a constraints file (`pip config list`, or PIP_* environment variables), the same
# settings are exported as uv's environment variables, unless those are set already. Nothing
# is exported where pip has none. Safe under `set -euo pipefail`.

_blitz_pip_setting() {
    # $1: pip's setting name, e.g. find-links; the environment wins over the config files.
    local env_name="PIP_$(echo "$1" | tr 'a-z-' 'A-Z_')"
    if [ -n "${!env_name:-}" ]; then
        echo "${!env_name}"
        return 0
    fi
    { python3 -m pip config list 2>/dev/null || true; } \
        | sed -n "s/^global\.$1='\(.*\)'\$/\1/p" | tail -n 1
}

_blitz_export_from_pip() {
    # $1: uv's variable, $2: pip's setting
    local value
    if [ -z "${!1:-}" ]; then
        value=$(_blitz_pip_setting "$2")
        if [ -n "$value" ]; then
            export "$1=$value"
        fi
    fi
    return 0
}

_blitz_export_from_pip UV_FIND_LINKS find-links
_blitz_export_from_pip UV_EXTRA_INDEX_URL extra-index-url
_blitz_export_from_pip UV_CONSTRAINT constraint
unset -f _blitz_pip_setting _blitz_export_from_pip
