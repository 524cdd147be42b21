# Sourced by run.sh and test.sh: create or update the virtualenv at .venv.
#
#   ensure_venv ""        runtime dependencies
#   ensure_venv "[test]"  runtime and test dependencies
#
# The install is skipped when pyproject.toml has not changed since the last one with the same
# extras, so running the commands again costs nothing.

ensure_venv() {
    local extras="$1"
    local python="${PYTHON:-python3}"
    if [ ! -x .venv/bin/python ]; then
        if ! command -v "$python" >/dev/null 2>&1; then
            echo "error: $python not found; install Python 3.11 or newer (or set PYTHON=/path/to/python3)." >&2
            return 1
        fi
        echo "==> Creating .venv with $("$python" --version 2>&1)"
        "$python" -m venv .venv || return 1
    fi
    if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "error: .venv runs $(.venv/bin/python --version 2>&1); Flowgate needs Python 3.11 or newer." \
             "Remove .venv and run again with PYTHON=/path/to/python3.11." >&2
        return 1
    fi
    local stamp=".venv/.flowgate-install${extras//[^a-z]/-}"
    local wanted
    wanted="$(cksum < pyproject.toml) $(cksum < constraints.txt) $extras"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        return 0
    fi
    # An install with the test extra has the runtime dependencies too.
    if [ -z "$extras" ] && [ -f .venv/.flowgate-install-test- ] && \
       [ "$(cat .venv/.flowgate-install-test-)" = "$(cksum < pyproject.toml) $(cksum < constraints.txt) [test]" ]; then
        return 0
    fi
    echo "==> Installing Flowgate${extras:+ with $extras} into .venv"
    # pip's and setuptools' chatter goes to a log, shown only when the install fails.
    # constraints.txt pins every package, so each install gets the versions the tests passed with.
    if ! .venv/bin/python -m pip install -c constraints.txt -e ".$extras" > .venv/pip-install.log 2>&1; then
        tail -n 40 .venv/pip-install.log >&2
        echo "error: pip install failed; the whole log is in .venv/pip-install.log" >&2
        return 1
    fi
    echo "$wanted" > "$stamp"
}
