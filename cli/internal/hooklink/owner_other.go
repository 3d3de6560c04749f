//go:build !unix

package hooklink

import (
	"fmt"
	"io/fs"
)

// checkOwner checks that info, the Lstat of dir, is a real directory. File
// ownership is not checked off Unix.
func checkOwner(dir string, info fs.FileInfo) error {
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}
