package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// stepCAInit runs `step ca init` with its defaults for a standalone CA named
// Bench on 127.0.0.1:port, into stepPath, with --ssh when ssh is set. Its output is returned in the
// error only.
func stepCAInit(ctx context.Context, stepBin, stepPath, pwFile string, port int, extra ...string) error {
	args := append([]string{"ca", "init",
		"--deployment-type", "standalone", "--name", "Bench", "--dns", "localhost",
		"--address", "127.0.0.1:" + strconv.Itoa(port), "--provisioner", "admin",
		"--password-file", pwFile, "--provisioner-password-file", pwFile}, extra...)
	cmd := exec.CommandContext(ctx, stepBin, args...)
	cmd.Env = append(os.Environ(), "STEPPATH="+stepPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s ca init: %w\n%s", stepBin, err, bytes.TrimSpace(out))
	}
	return nil
}

// caProcess is a running step-ca child process.
type caProcess struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done is closed
}

// startCA starts `step-ca cfgPath --password-file pwFile` with STEPPATH set,
// its stdout and stderr going to logPath. The child gets SIGTERM if this
// process dies first.
func startCA(caBin, cfgPath, pwFile, stepPath, logPath string, extra ...string) (*caProcess, error) {
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("CA log: %w", err)
	}
	cmd := exec.Command(caBin, append([]string{cfgPath, "--password-file", pwFile}, extra...)...)
	cmd.Env = append(os.Environ(), "STEPPATH="+stepPath)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", caBin, err)
	}
	p := &caProcess{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// pid is the CA's process id.
func (p *caProcess) pid() int { return p.cmd.Process.Pid }

// waitHealthy polls GET <url>/health until it answers 200, the process
// exits, ctx ends or timeout passes.
func (p *caProcess) waitHealthy(ctx context.Context, url string, roots *x509.CertPool, timeout time.Duration) error {
	tr := &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	// 10 ms: the start-up time the suite reports is this poll's.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		resp, err := client.Get(url + "/health")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
		select {
		case <-p.done:
			return fmt.Errorf("step-ca exited (%v) before answering /health; its log ends with:\n%s", p.waitErr, logTail(p.logPath, 20))
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("step-ca did not answer %s/health within %v (last error: %v); its log ends with:\n%s", url, timeout, last, logTail(p.logPath, 20))
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM and waits up to grace for the exit, then kills the
// process. It returns an error when the CA had to be killed or did not exit
// cleanly.
func (p *caProcess) stop(grace time.Duration) error {
	select {
	case <-p.done:
		return fmt.Errorf("step-ca had already exited: %v", p.waitErr)
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop step-ca: %w", err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		if p.waitErr != nil {
			return fmt.Errorf("step-ca exited after SIGTERM: %w", p.waitErr)
		}
		return nil
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("step-ca did not exit within %v of SIGTERM and was killed", grace)
	}
}

// logTail returns the last n lines of the file at path (or why it could
// not be read).
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
