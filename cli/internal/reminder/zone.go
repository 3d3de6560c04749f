package reminder

import (
	"os"
	"strings"
	"time"
)

// LocalZone returns the IANA name of this machine's time zone (what a cron
// expression is read in), from time.Local, else $TZ, else the zoneinfo file
// /etc/localtime links to, else /etc/timezone. When none names a zone it
// returns "UTC" and false.
func LocalZone(getenv func(string) string) (string, bool) {
	return localZone(time.Local.String(), getenv, "/etc/localtime", "/etc/timezone")
}

// localZone is LocalZone with its sources as arguments: the name of
// time.Local ("Local" when Go read /etc/localtime), the environment, the
// localtime link and the timezone file.
func localZone(local string, getenv func(string) string, localtimeLink, timezoneFile string) (string, bool) {
	candidates := []string{local, strings.TrimPrefix(getenv("TZ"), ":")}
	if target, err := os.Readlink(localtimeLink); err == nil {
		candidates = append(candidates, target)
	}
	if b, err := os.ReadFile(timezoneFile); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(b)))
	}
	for _, c := range candidates {
		if name, ok := zoneName(c); ok {
			return name, true
		}
	}
	return "UTC", false
}

// zoneName turns a zone name or a zoneinfo path into a loadable IANA name.
func zoneName(s string) (string, bool) {
	if i := strings.LastIndex(s, "zoneinfo/"); i >= 0 {
		s = s[i+len("zoneinfo/"):]
		for _, tree := range []string{"posix/", "right/"} {
			s = strings.TrimPrefix(s, tree)
		}
	}
	if s == "" || s == "Local" || strings.HasPrefix(s, "/") {
		return "", false
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "", false
	}
	return s, true
}
