package bench

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// brokerProcessOf finds the process listening on the broker URL's port on
// this machine and reads its memory from /proc. What it cannot find is
// reported as unknown, with the reason.
func brokerProcessOf(brokerURL string) BrokerProcess {
	unknown := func(err error) BrokerProcess { return BrokerProcess{RSS: "unknown", Note: err.Error()} }
	u, err := url.Parse(brokerURL)
	if err != nil {
		return unknown(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return unknown(fmt.Errorf("no port in %q", brokerURL))
	}
	pid, err := listenerPID("/proc", port)
	if err != nil {
		return unknown(err)
	}
	rss, peak, err := processMemory("/proc", pid)
	if err != nil {
		return unknown(err)
	}
	return BrokerProcess{PID: pid, RSSBytes: rss, PeakRSSBytes: peak, RSS: mib(rss)}
}

// listenerPID returns the process that holds the socket listening on TCP
// port: the socket's inode from <proc>/net/tcp and tcp6, then the process
// whose <proc>/<pid>/fd links to it.
func listenerPID(proc string, port int) (int, error) {
	inodes := map[string]bool{}
	for _, name := range []string{"tcp", "tcp6"} {
		if err := listeningInodes(filepath.Join(proc, "net", name), port, inodes); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no socket listening on port %d is visible in %s/net/tcp (not this machine, or another network namespace)", port, proc)
	}
	dirs, err := filepath.Glob(filepath.Join(proc, "[0-9]*", "fd"))
	if err != nil {
		return 0, err
	}
	for _, dir := range dirs {
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // another user's process, or gone
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				return strconv.Atoi(filepath.Base(filepath.Dir(dir)))
			}
		}
	}
	return 0, fmt.Errorf("the process listening on port %d is not readable by this user", port)
}

// listeningInodes adds the inodes of the sockets in LISTEN state on port
// from one /proc/net/tcp-format file.
func listeningInodes(path string, port int, into map[string]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
			into[fields[9]] = true
		}
	}
	return sc.Err()
}

// processMemory reads a process's resident set size and its peak, in
// bytes, from <proc>/<pid>/status.
func processMemory(proc string, pid int) (rss, peak int64, err error) {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch key {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return rss, peak, nil
}
