package badger

import (
	"path/filepath"
	"time"
)

// defaultPageOutInterval is used when Options.PageOutInterval is 0.
const defaultPageOutInterval = 10 * time.Second

// tableDirs returns the absolute, symlink-free forms of dirs, as the
// kernel names mapped files in /proc/self/maps.
func tableDirs(dirs ...string) []string {
	var out []string
	for _, d := range dirs {
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		if real, err := filepath.EvalSymlinks(d); err == nil {
			d = real
		}
		out = append(out, filepath.Clean(d))
	}
	return out
}

// pageOutLoop pages the tables out (pageOutTables) every interval, and
// when kicked (pageOutSoon), until stop is closed. The first failure is logged and ends the loop (a kernel
// without MADV_PAGEOUT): the store works the same, with more pages
// resident.
func (s *Store) pageOutLoop(interval time.Duration, stop <-chan struct{}) {
	defer close(s.pageOutDone)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		case <-s.pageOutKick:
		}
		if _, err := pageOutTables(s.tableDirs); err != nil {
			s.logf("stopped paging out tables: %v", err)
			return
		}
	}
}

// pageOutSoon asks pageOutLoop for a page-out now: loadTokens reads the
// whole used_ott table at start (about 490 MB of table pages at 1,000,000
// tokens), which would otherwise stay resident until the next tick.
func (s *Store) pageOutSoon() {
	select {
	case s.pageOutKick <- struct{}{}:
	default:
	}
}
