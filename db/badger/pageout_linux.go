package badger

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxMapsLen bounds the /proc/self/maps read: a CA has a few thousand
// mappings at most (about 100 bytes each).
const maxMapsLen = 16 << 20

// pageOutTables asks the kernel to reclaim the resident pages of every
// memory mapping of a Badger table (*.sst) or memtable log (*.mem) in
// dirs, with madvise(MADV_PAGEOUT). It returns the bytes of the ranges
// advised.
//
// Badger v4 maps every table and writes a new one (a flush, a
// compaction) by copying it into its mapping, so each table written by
// the process stays resident, as file-backed pages of its resident set,
// until it is deleted; and the store reads tables rarely (the used-token
// filter and the revoked set answer most checks in memory). Likewise each
// memtable's log (up to the memtable's size) is only written, and read
// back only when a crash left it unflushed. MADV_PAGEOUT
// keeps the contents (clean table pages are dropped, read again from the
// file when next touched), so advising a range that was unmapped, or even
// reused for other memory, between reading /proc/self/maps and the call is
// harmless: anonymous memory without swap is left as it is.
func pageOutTables(dirs []string) (int64, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	maps, err := io.ReadAll(io.LimitReader(f, maxMapsLen))
	if err != nil {
		return 0, err
	}
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(maps))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		start, end, path, ok := parseMapsLine(sc.Text())
		if !ok || !(strings.HasSuffix(path, ".sst") || strings.HasSuffix(path, ".mem")) || !inDirs(filepath.Dir(path), dirs) {
			continue
		}
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_PAGEOUT); errno != 0 {
			if errno == unix.EINVAL {
				// A kernel before 5.4 has no MADV_PAGEOUT.
				return total, fmt.Errorf("madvise(MADV_PAGEOUT): %w", errno)
			}
			continue // ENOMEM: unmapped meanwhile (a compaction deleted the table)
		}
		total += int64(end - start)
	}
	return total, sc.Err()
}

// parseMapsLine reads "start-end perms offset dev inode [path]" of
// /proc/PID/maps (path is empty for anonymous memory).
func parseMapsLine(line string) (start, end uintptr, path string, ok bool) {
	f := strings.Fields(line)
	if len(f) < 5 {
		return 0, 0, "", false
	}
	lo, hi, ok := strings.Cut(f[0], "-")
	if !ok {
		return 0, 0, "", false
	}
	s, err1 := strconv.ParseUint(lo, 16, 64)
	e, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, "", false
	}
	// A path with spaces is split by Fields; the path starts at field 5.
	if len(f) == 5 {
		return uintptr(s), uintptr(e), "", true
	}
	return uintptr(s), uintptr(e), strings.Join(f[5:], " "), true
}

func inDirs(dir string, dirs []string) bool {
	for _, d := range dirs {
		if dir == d {
			return true
		}
	}
	return false
}
