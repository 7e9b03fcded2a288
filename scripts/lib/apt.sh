# Sourced by the scripts that install Debian packages.

# missing_packages PACKAGE...: prints, one a line, those not installed.
missing_packages() {
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
      echo "$p"
    fi
  done
}

# install_packages WHO PACKAGE...: installs them as root, starting no
# service; WHO prefixes the messages. A subshell, so that its trap cannot
# replace the caller's.
install_packages() (
  local who=$1
  shift
  if [ "$(id -u)" -ne 0 ]; then
    echo "$who: missing $*; run as root to install them" >&2
    exit 1
  fi
  echo "$who: installing $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d answering 101 tells invoke-rc.d not to start services.
  local policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "$@"
)
