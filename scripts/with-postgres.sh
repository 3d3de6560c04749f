#!/usr/bin/env bash
# with-postgres.sh runs a command with TEST_DATABASE_URL pointing at a
# throwaway Postgres cluster, and removes the cluster when the command ends.
#
#   scripts/with-postgres.sh go test ./...
#
# If TEST_DATABASE_URL is already set, the command runs as is. The cluster is
# tuned for tests, not durability: fsync, full-page writes and synchronous
# commit are off, and it listens on 127.0.0.1 only, on a free port. Without
# Postgres binaries (initdb, pg_ctl on PATH or under
# /usr/lib/postgresql/*/bin) the command runs without TEST_DATABASE_URL, so
# the Postgres tests skip, unless CI is true, which makes that an error.
#
# The cluster's files go to $WITH_POSTGRES_TMPDIR, or /dev/shm, or $TMPDIR.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: $0 <command> [args...]" >&2
	exit 2
fi

if [[ -n "${TEST_DATABASE_URL:-}" ]]; then
	exec "$@"
fi

is_ci() {
	case "${CI:-}" in
	1 | t | T | true | TRUE | True) return 0 ;;
	*) return 1 ;;
	esac
}

# find_pg_bin prints the directory holding initdb and pg_ctl: PATH first,
# then the newest /usr/lib/postgresql/<version>/bin.
find_pg_bin() {
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v pg_ctl)"
		return 0
	fi
	local dir
	dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4n | tail -n 1 || true)
	if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
		echo "$dir"
		return 0
	fi
	return 1
}

if ! pg_bin=$(find_pg_bin); then
	if is_ci; then
		echo "with-postgres.sh: no Postgres binaries (initdb, pg_ctl) found, and CI needs them" >&2
		exit 1
	fi
	cat >&2 <<'WARN'
################################################################################
# with-postgres.sh: WARNING: no Postgres binaries (initdb, pg_ctl) found.
# Running WITHOUT TEST_DATABASE_URL: every Postgres test will be SKIPPED.
# Install Postgres (e.g. apt-get install postgresql) or set TEST_DATABASE_URL.
################################################################################
WARN
	exec "$@"
fi

# port_free reports whether nothing listens on 127.0.0.1:$1.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
	local port i
	for i in $(seq 1 100); do
		port=$((20000 + RANDOM % 40000))
		if port_free "$port"; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# As root, run the server as the postgres user: Postgres refuses to run as
# root.
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
	if ! id postgres >/dev/null 2>&1; then
		echo "with-postgres.sh: running as root, but there is no postgres user to run the server as" >&2
		exit 1
	fi
	if command -v runuser >/dev/null 2>&1; then
		as_pg=(runuser -u postgres --)
	else
		as_pg=(su postgres -s /bin/sh -c '"$0" "$@"')
	fi
fi

# pick_tmp_parent prints where the cluster lives: $WITH_POSTGRES_TMPDIR if
# set, else /dev/shm when it has at least 1 GiB free (creating a database is
# about three times faster on tmpfs), else $TMPDIR or /tmp.
pick_tmp_parent() {
	if [[ -n "${WITH_POSTGRES_TMPDIR:-}" ]]; then
		echo "$WITH_POSTGRES_TMPDIR"
		return
	fi
	local free_kb
	if [[ -d /dev/shm && -w /dev/shm ]]; then
		free_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $4}')
		if [[ -n "$free_kb" && "$free_kb" -ge 1048576 ]]; then
			echo /dev/shm
			return
		fi
	fi
	echo "${TMPDIR:-/tmp}"
}

tmp=$(mktemp -d "$(pick_tmp_parent)/with-postgres.XXXXXX")
data="$tmp/data"
log="$tmp/postgres.log"
if [[ ${#as_pg[@]} -gt 0 ]]; then
	chown postgres: "$tmp"
fi

started=0
cleanup() {
	if [[ $started -eq 1 ]]; then
		"${as_pg[@]}" "$pg_bin/pg_ctl" stop -D "$data" -m immediate -s >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! "${as_pg[@]}" "$pg_bin/initdb" -D "$data" -A trust -U postgres --no-sync -E UTF8 >"$tmp/initdb.log" 2>&1; then
	cat "$tmp/initdb.log" >&2
	echo "with-postgres.sh: initdb failed" >&2
	exit 1
fi

port=""
for attempt in 1 2 3; do
	if ! port=$(pick_port); then
		echo "with-postgres.sh: no free TCP port found" >&2
		exit 1
	fi
	opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$tmp"
	opts+=" -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=300"
	# Keep dynamic shared memory inside the data directory: an immediate
	# stop would leave POSIX segments behind in /dev/shm.
	opts+=" -c dynamic_shared_memory_type=mmap"
	started=1
	if "${as_pg[@]}" "$pg_bin/pg_ctl" start -D "$data" -l "$log" -w -t 60 -s -o "$opts"; then
		break
	fi
	# The port may have been taken between the probe and the bind: retry.
	started=0
	"${as_pg[@]}" "$pg_bin/pg_ctl" stop -D "$data" -m immediate -s >/dev/null 2>&1 || true
	if [[ $attempt -eq 3 ]]; then
		cat "$log" >&2 || true
		echo "with-postgres.sh: postgres did not start" >&2
		exit 1
	fi
done

pg_isready_bin="$pg_bin/pg_isready"
if [[ -x "$pg_isready_bin" ]]; then
	for i in $(seq 1 100); do
		if "$pg_isready_bin" -q -h 127.0.0.1 -p "$port" -U postgres; then
			break
		fi
		if [[ $i -eq 100 ]]; then
			cat "$log" >&2 || true
			echo "with-postgres.sh: postgres is not ready" >&2
			exit 1
		fi
		sleep 0.1
	done
fi

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
echo "with-postgres.sh: $("$pg_bin/postgres" --version) listening on 127.0.0.1:$port; TEST_DATABASE_URL is set" >&2

# Run the command as a child, not with exec, so the trap can stop the
# cluster afterwards; its status becomes ours.
status=0
"$@" || status=$?
exit "$status"
