package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long step-ca may take to print "Serving HTTPS".
const startTimeout = 30 * time.Second

// stopTimeout bounds how long step-ca may take to exit after SIGTERM.
const stopTimeout = 15 * time.Second

// logDelayEnv names the environment variable that delays every write into a
// logBuffer by a Go duration (e.g. MAYFLY_E2E_LOG_DELAY=300ms), as a pipe on
// a loaded machine may deliver a process's output late. The tests must pass
// with it: every assertion on another process's output waits for it.
const logDelayEnv = "MAYFLY_E2E_LOG_DELAY"

// logBuffer collects a process's output as lines and lets tests wait for a
// line. Safe for concurrent use: the exec package writes, tests read.
type logBuffer struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
	changed chan struct{} // closed and replaced whenever a line is added
	delay   time.Duration // from logDelayEnv: each Write waits this long first
}

func newLogBuffer() *logBuffer {
	b := &logBuffer{changed: make(chan struct{})}
	if v := os.Getenv(logDelayEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			panic(fmt.Sprintf("%s=%q: %v", logDelayEnv, v, err))
		}
		b.delay = d
	}
	return b
}

// Write implements io.Writer, splitting p into lines.
func (b *logBuffer) Write(p []byte) (int, error) {
	if b.delay > 0 {
		time.Sleep(b.delay) // a slow pipe, see logDelayEnv
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		b.lines = append(b.lines, string(b.partial[:i]))
		b.partial = b.partial[i+1:]
		added = true
	}
	if added {
		close(b.changed)
		b.changed = make(chan struct{})
	}
	return len(p), nil
}

// mark returns the number of complete lines so far, to wait for lines after it.
func (b *logBuffer) mark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.lines)
}

// find returns the first line at index >= from containing any of subs, and
// the channel that is closed when more lines arrive.
func (b *logBuffer) find(from int, subs ...string) (string, bool, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.lines[min(from, len(b.lines)):] {
		for _, s := range subs {
			if strings.Contains(l, s) {
				return l, true, b.changed
			}
		}
	}
	return "", false, b.changed
}

// contains reports whether any line at index >= from contains sub.
func (b *logBuffer) contains(from int, sub string) bool {
	_, ok, _ := b.find(from, sub)
	return ok
}

// tail returns the last n lines (and any unterminated one).
func (b *logBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := b.lines[max(0, len(b.lines)-n):]
	s := strings.Join(lines, "\n")
	if len(b.partial) > 0 {
		s += "\n" + string(b.partial)
	}
	return s
}

// caProcess is one running step-ca.
type caProcess struct {
	cmd    *exec.Cmd
	log    *logBuffer
	exited chan struct{} // closed when the process has exited
	code   int           // exit code, valid after exited is closed; -1 if killed by a signal
}

// startCA starts `step-ca <caPath>/config/ca.json --password-file pwFile`
// with STEPPATH=caPath and waits until it prints "Serving HTTPS on". The
// process is stopped when t ends, and if t failed the tail of its log is
// printed.
func startCA(t *testing.T, caPath, pwFile string) *caProcess {
	t.Helper()
	p := launchCA(t, t, caPath, filepath.Join(caPath, "config", "ca.json"), "--password-file", pwFile)
	p.waitLog(t, 0, "Serving HTTPS on")
	return p
}

// launchCA starts step-ca with args and STEPPATH=caPath without waiting for
// it to serve. The process is stopped when owner ends (and its log printed
// if owner failed); t is what fails if the process cannot be started.
func launchCA(owner, t *testing.T, caPath string, args ...string) *caProcess {
	t.Helper()
	u := newUser(owner, caPath)
	cmd := exec.Command(stepCABin(), args...)
	cmd.Dir = u.dir
	cmd.Env = commandEnv(u.home, caPath)
	log := newLogBuffer()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.WaitDelay = 5 * time.Second
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start step-ca %s: %v", strings.Join(args, " "), err)
	}
	p := &caProcess{cmd: cmd, log: log, exited: make(chan struct{}), code: -1}
	go func() {
		err := cmd.Wait()
		var exitErr *exec.ExitError
		switch {
		case err == nil:
			p.code = 0
		case errors.As(err, &exitErr):
			p.code = exitErr.ExitCode()
		}
		close(p.exited)
	}()
	owner.Cleanup(func() {
		p.kill()
		if owner.Failed() {
			owner.Logf("%s (step-ca %s), last lines of its log:\n%s", p, strings.Join(args, " "), log.tail(40))
		}
	})
	return p
}

// kill ends the process if it still runs (SIGTERM, then SIGKILL) and waits.
func (p *caProcess) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return
	case <-time.After(stopTimeout):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// waitLog waits until a log line at index >= from contains want and returns
// it. It fails t if a line contains one of the failure markers, if the
// process exits first, or after startTimeout.
func (p *caProcess) waitLog(t *testing.T, from int, want string, failures ...string) string {
	t.Helper()
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	for {
		line, ok, changed := p.log.find(from, want)
		if ok {
			return line
		}
		if len(failures) > 0 {
			if bad, ok, _ := p.log.find(from, failures...); ok {
				t.Fatalf("%s logged %q while the test waited for %q", p, bad, want)
			}
		}
		select {
		case <-changed:
		case <-p.exited:
			if line, ok, _ := p.log.find(from, want); ok {
				return line
			}
			t.Fatalf("%s exited with code %d before logging %q; its log:\n%s", p, p.code, want, p.log.tail(40))
		case <-deadline.C:
			t.Fatalf("%s did not log %q within %s; its log:\n%s", p, want, startTimeout, p.log.tail(40))
		}
	}
}

// signal sends sig to the process.
func (p *caProcess) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("send %v to %s: %v", sig, p, err)
	}
}

// stop sends SIGTERM and waits for the exit; it fails t unless the exit code
// is 0.
func (p *caProcess) stop(t *testing.T) {
	t.Helper()
	p.signal(t, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("%s did not exit within %s of SIGTERM; its log:\n%s", p, stopTimeout, p.log.tail(40))
	}
	if p.code != 0 {
		t.Fatalf("%s exited with code %d after SIGTERM, want 0; its log:\n%s", p, p.code, p.log.tail(40))
	}
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) (addr, port string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pick a free port: %v", err)
	}
	addr = l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("close the port probe: %v", err)
	}
	_, port, _ = net.SplitHostPort(addr)
	return addr, port
}

// dialable reports whether something accepts TCP connections on addr.
func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// String names the process for messages.
func (p *caProcess) String() string {
	return fmt.Sprintf("step-ca pid %d", p.cmd.Process.Pid)
}
