package claudeconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// attempts bounds how often an update starts over because another program
// (Claude Code) rewrote the file meanwhile.
const attempts = 5

// fileJob is the change to make to one file.
type fileJob struct {
	path      string
	backupDir string
	now       func() time.Time
	// inspect says what the steps will do to a document, for the report.
	inspect func(b []byte, root *node) []Change
	steps   []step
	// afterRenameFunc, for tests, runs between the rename and the
	// read-back check, where another writer may strike.
	afterRenameFunc func(path string)
}

// run edits the file: read, edit in memory, back up, write a synced
// temporary file, re-read to make sure nobody wrote meanwhile, rename, then
// read back and check the change holds. A file already in the wanted state
// is not touched at all. A missing file starts as {} and is created only
// when there is something to write.
func (j *fileJob) run() (FileResult, error) {
	res := FileResult{Path: j.path, Changes: []Change{}}
	path, err := resolve(j.path)
	if err != nil {
		return res, err
	}
	for range attempts {
		orig, mode, exists, err := readFile(path)
		if err != nil {
			return res, err
		}
		doc := orig
		if !exists {
			doc = []byte("{}\n")
		}
		root, err := parse(doc)
		if err == nil && root.kind != '{' {
			err = fmt.Errorf("%w: the document is not a JSON object", errInvalidJSON)
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w; claudemesh changed nothing: fix the file (or restore a backup from %s) and run the command again", path, err, j.backupDir)
		}
		res.Changes = j.inspect(doc, root)
		updated, err := edit(doc, j.steps...)
		if err != nil {
			return res, fmt.Errorf("%s: %w; claudemesh changed nothing", path, err)
		}
		if bytes.Equal(updated, doc) {
			return res, nil
		}
		backup := ""
		if exists {
			if backup, err = j.backup(path, orig); err != nil {
				return res, err
			}
		}
		done, err := replaceFile(path, orig, exists, updated, mode)
		if err != nil {
			return res, err
		}
		if !done {
			continue // rewritten meanwhile: start over from its new content
		}
		res.Changed, res.Backup = true, backup
		if j.afterRenameFunc != nil {
			j.afterRenameFunc(path)
		}
		if err := j.verify(path); err != nil {
			where := "there was no previous version"
			if backup != "" {
				where = "the previous version is in " + backup
			}
			return res, fmt.Errorf("%s: post-write verification failed (%w): another program may have rewritten it; %s", path, err, where)
		}
		return res, nil
	}
	return res, fmt.Errorf("%s kept changing while claudemesh updated it; quit Claude Code and run the command again", path)
}

// verify reads the file back and checks the steps have nothing left to do.
func (j *fileJob) verify(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	again, err := edit(b, j.steps...)
	if err != nil {
		return err
	}
	if !bytes.Equal(again, b) {
		return errors.New("the change is not in the file")
	}
	return nil
}

// backup copies the original content to the backup directory, mode 0600,
// as <name>.pre-claudemesh.<unix ms>.
func (j *fileJob) backup(path string, orig []byte) (string, error) {
	if err := os.MkdirAll(j.backupDir, 0o700); err != nil {
		return "", fmt.Errorf("back up %s: %w", path, err)
	}
	now := time.Now
	if j.now != nil {
		now = j.now
	}
	ms := now().UnixMilli()
	for range 1000 {
		name := filepath.Join(j.backupDir, filepath.Base(path)+".pre-claudemesh."+strconv.FormatInt(ms, 10))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			ms++
			continue
		}
		if err != nil {
			return "", fmt.Errorf("back up %s: %w", path, err)
		}
		_, err = f.Write(orig)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(name)
			return "", fmt.Errorf("back up %s: %w", path, err)
		}
		return name, nil
	}
	return "", fmt.Errorf("back up %s: no free backup name in %s", path, j.backupDir)
}

// resolve follows a symbolic link, so that a dotfile manager's link keeps
// pointing at the file we update instead of being replaced by a copy.
func resolve(path string) (string, error) {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && info.Mode()&fs.ModeSymlink == 0) {
		return path, nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("%s is a symbolic link that leads nowhere (%w); fix or remove it", path, err)
	}
	return target, nil
}

// readFile returns the content and permission bits of path, and whether it
// exists.
func readFile(path string) ([]byte, fs.FileMode, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0o600, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("read %s: %w", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, 0, false, fmt.Errorf("read %s: %w", path, err)
	}
	return b, fileMode(info.Mode().Perm()), true, nil
}

// fileMode is the mode to write: 0600, or the existing mode when that is
// stricter (0400) — these files hold tokens and other secrets.
func fileMode(existing fs.FileMode) fs.FileMode {
	m := existing & 0o600
	if m&0o400 == 0 {
		return 0o600
	}
	return m
}

// replaceFile writes data to a synced temporary file next to path and
// renames it over path, unless path no longer holds orig (or, when it did
// not exist, has appeared): then it returns false and writes nothing. The
// comparison is made right before the rename, after the slow part, so the
// window in which a concurrent writer's change could be lost is as small
// as a rename.
func replaceFile(path string, orig []byte, existed bool, data []byte, mode fs.FileMode) (bool, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".claudemesh-*")
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	err = tmp.Chmod(mode)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	cur, _, exists, err := readFile(path)
	if err != nil {
		return false, err
	}
	if exists != existed || !bytes.Equal(cur, orig) {
		return false, nil
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable; not every platform can
		_ = d.Close()
	}
	return true, nil
}
