# Source this file to hand pip's package sources to uv (and so to tox-uv).
#
# uv does not read pip's configuration. Where pip is configured with find-links, extra index
# URLs or a constraints file (`pip config list`), the same settings are exported as uv's
# environment variables, unless those are set already. Nothing is exported where pip has none.

_blitz_pip_config() {
    python3 -m pip config get "$1" 2>/dev/null | tr '\n' ' ' | sed 's/ *$//'
}

if [ -z "${UV_FIND_LINKS:-}" ]; then
    _v=$(_blitz_pip_config global.find-links)
    [ -n "$_v" ] && export UV_FIND_LINKS="$_v"
fi
if [ -z "${UV_EXTRA_INDEX_URL:-}" ]; then
    _v=$(_blitz_pip_config global.extra-index-url)
    [ -n "$_v" ] && export UV_EXTRA_INDEX_URL="$_v"
fi
if [ -z "${UV_CONSTRAINT:-}" ]; then
    _v=$(_blitz_pip_config global.constraint)
    [ -n "$_v" ] && export UV_CONSTRAINT="$_v"
fi
unset _v
unset -f _blitz_pip_config
