//go:build unix

package hooklink

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkOwner checks that info, the Lstat of dir, is a real directory (not a
// symlink) owned by this user.
func checkOwner(dir string, info fs.FileInfo) error {
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: cannot read its owner", dir)
	}
	if int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to uid %d, not to this user (uid %d)", dir, st.Uid, os.Getuid())
	}
	return nil
}
