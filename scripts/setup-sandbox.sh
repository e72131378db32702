#!/usr/bin/env bash
# Set up what the grader's sandbox needs on a Debian/Ubuntu machine (see autograder/sandbox/).
#
#   sudo scripts/setup-sandbox.sh            # or: AUTOGRADER_SANDBOX_SLOTS=32 scripts/setup-sandbox.sh
#
# Idempotent: each step is skipped when already done, so re-running it changes nothing.
#   1. bubblewrap (Debian package), and libseccomp2 (normally already there: apt needs it);
#   2. unprivileged users autograder-sandbox0..N-1, one per concurrent grading slot: system
#      users with their own group, no home, no login shell, no password;
#   3. a check that unprivileged user namespaces are enabled (bubblewrap needs them).
# Nothing else on the machine changes. No interpreter is installed: the grader runs the child
# with its own Python, and as root it makes that Python reachable to the sandbox users through
# a private mount namespace (so a Python under /root, mode 0700, still works).
# Without root this script only reports; grading then uses the layers a normal user can have.
set -euo pipefail

slots="${AUTOGRADER_SANDBOX_SLOTS:-16}"
prefix="autograder-sandbox"

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-sandbox: not root, nothing installed (sudo installs bubblewrap and the sandbox users);" \
        "grading uses the layers a normal user can have:" >&2
    python="${PYTHON:-$(command -v python || command -v python3 || true)}"
    [ -n "$python" ] && "$python" -m autograder.sandbox 2>/dev/null || true
    exit 0
fi

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
ldconfig -p 2>/dev/null | grep -c 'libseccomp\.so\.2 ' >/dev/null || missing+=(libseccomp2)
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
    echo "setup-sandbox: installed ${missing[*]}"
fi

created=0
for ((slot = 0; slot < slots; slot++)); do
    name="$prefix$slot"
    if ! id -u "$name" >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin --comment "autograder sandbox slot $slot" "$name"
        created=$((created + 1))
    fi
done
if [ "$created" -gt 0 ]; then
    echo "setup-sandbox: created $created sandbox users (${prefix}0..$((slots - 1)))"
fi

if [ -r /proc/sys/kernel/unprivileged_userns_clone ] && [ "$(cat /proc/sys/kernel/unprivileged_userns_clone)" = 0 ]; then
    echo "setup-sandbox: warning: kernel.unprivileged_userns_clone=0, bubblewrap will be off" >&2
fi
if [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)" = 0 ]; then
    echo "setup-sandbox: warning: user.max_user_namespaces=0, bubblewrap will be off" >&2
fi

# Report the layers as the grader sees them, when it is installed.
python="${PYTHON:-$(command -v python || command -v python3 || true)}"
if [ -n "$python" ] && "$python" -c 'import autograder.sandbox' 2>/dev/null; then
    "$python" -m autograder.sandbox
fi
