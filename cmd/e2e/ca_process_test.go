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

// logTimeout bounds every wait for a line of a process's output, e.g. how
// long step-ca may take to print "Serving HTTPS" or to log why it refused a
// request. Generous: the machine may be loaded.
const logTimeout = 60 * time.Second

// stopTimeout bounds how long step-ca may take to exit after SIGTERM (it lets
// requests in flight finish for at most 30 s).
const stopTimeout = 45 * time.Second

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

// waitFor waits until a line at index >= from contains want and returns it.
// It gives up with an error saying why if a line contains one of failures,
// if done is closed first (the writing process exited: its output is then
// complete, and is searched once more), or after timeout. Every assertion on
// the output of a process that still runs must wait this way: a pipe may
// deliver a line well after the event it reports.
func (b *logBuffer) waitFor(from int, want string, done <-chan struct{}, timeout time.Duration, failures ...string) (string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		line, ok, changed := b.find(from, want)
		if ok {
			return line, nil
		}
		if len(failures) > 0 {
			if bad, ok, _ := b.find(from, failures...); ok {
				return "", fmt.Errorf("logged %q while the test waited for %q", bad, want)
			}
		}
		select {
		case <-changed:
		case <-done:
			if line, ok, _ := b.find(from, want); ok {
				return line, nil
			}
			return "", fmt.Errorf("exited before logging %q", want)
		case <-deadline.C:
			return "", fmt.Errorf("did not log %q within %s", want, timeout)
		}
	}
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
	return launchCAWith(owner, t, caPath, nil, args...)
}

// launchCAWith is launchCA with env added to the process's environment.
func launchCAWith(owner, t *testing.T, caPath string, env []string, args ...string) *caProcess {
	t.Helper()
	u := newUser(owner, caPath)
	cmd := exec.Command(stepCABin(), args...)
	cmd.Dir = u.dir
	cmd.Env = append(commandEnv(u.home, caPath), env...)
	p := startProcess(t, cmd, "step-ca "+strings.Join(args, " "))
	owner.Cleanup(func() {
		p.kill()
		if owner.Failed() {
			owner.Logf("%s (step-ca %s), last lines of its log:\n%s", p, strings.Join(args, " "), p.log.tail(40))
		}
	})
	return p
}

// startProcess starts cmd (what names it in the failure) with its output
// in a log that can be waited on, and records its exit code when it ends.
// The caller stops it (kill) when its test ends.
func startProcess(t *testing.T, cmd *exec.Cmd, what string) *caProcess {
	t.Helper()
	log := newLogBuffer()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.WaitDelay = 5 * time.Second
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", what, err)
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
// process exits first, or after logTimeout.
func (p *caProcess) waitLog(t *testing.T, from int, want string, failures ...string) string {
	t.Helper()
	line, err := p.log.waitFor(from, want, p.exited, logTimeout, failures...)
	if err != nil {
		t.Fatalf("%s %v%s; its log:\n%s", p, err, p.exitNote(), p.log.tail(40))
	}
	return line
}

// expectLog is waitLog for a line that explains an outcome the test has
// already seen (why a request was refused): it fails t with why.
func (p *caProcess) expectLog(t *testing.T, from int, want, why string) {
	t.Helper()
	if _, err := p.log.waitFor(from, want, p.exited, logTimeout); err != nil {
		t.Fatalf("%s: %s %v%s; its log:\n%s", why, p, err, p.exitNote(), p.log.tail(40))
	}
}

// exitNote is " (exit code N)" once the process has exited, else "".
func (p *caProcess) exitNote() string {
	select {
	case <-p.exited:
		return fmt.Sprintf(" (exit code %d)", p.code)
	default:
		return ""
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
