package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"unicode/utf8"
)

// Bounds of a record's values, so that one line stays small whatever a
// request carried (a CSR may hold thousands of SANs).
const (
	maxValue  = 256
	maxReason = 1024
	maxSANs   = 32
	// MaxLine bounds one line when reading a log back.
	MaxLine = 64 << 10
)

// Stdout is the Options.Path that writes to the process's standard output.
const Stdout = "stdout"

// Options configure a Log.
type Options struct {
	// Path is the file appended to (created 0600), or Stdout ("-" too).
	Path string
	// Chain makes every line carry the hash of the previous one and its own.
	Chain bool
	// Out, when set, is written to instead of Path (tests).
	Out io.Writer
	// OnError receives write failures (the request is not failed for them).
	OnError func(error)
}

// Log is a Sink writing one JSON line per record. Safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	out     io.Writer
	file    *os.File // nil for stdout and Options.Out
	chain   bool
	prev    string // hash of the last line written (chained logs)
	onError func(error)
}

var _ Sink = (*Log)(nil)

// Open opens the log o describes. A chained log appended to an existing file
// continues that file's chain: its last line must be a chained line.
func Open(o Options) (*Log, error) {
	l := &Log{out: o.Out, chain: o.Chain, onError: o.OnError}
	if l.onError == nil {
		l.onError = func(error) {}
	}
	switch {
	case l.out != nil:
	case o.Path == "" || o.Path == Stdout || o.Path == "-":
		l.out = os.Stdout
	default:
		f, err := os.OpenFile(o.Path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		if o.Chain {
			if l.prev, err = lastHash(f); err != nil {
				_ = f.Close()
				return nil, fmt.Errorf("audit log %s: %w", o.Path, err)
			}
		}
		l.out, l.file = f, f
	}
	return l, nil
}

// lastHash returns the hash of f's last line ("" for an empty file).
func lastHash(f *os.File) (string, error) {
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	size := st.Size()
	if size == 0 {
		return "", nil
	}
	n := min(size, int64(MaxLine))
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	buf = bytes.TrimRight(buf, "\n")
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		buf = buf[i+1:]
	}
	_, h, err := splitHash(buf)
	if err != nil {
		return "", fmt.Errorf("cannot continue the hash chain: the last line is not a chained audit line (%v); rotate the file or disable audit.hashChain", err)
	}
	return h, nil
}

// Record writes r as one line; r.Prev is set for a chained log.
func (l *Log) Record(_ context.Context, r *Record) {
	bound(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.chain {
		r.Prev = l.prev
	}
	b, err := json.Marshal(r)
	if err != nil {
		l.onError(fmt.Errorf("audit log: %w", err))
		return
	}
	var h string
	if l.chain {
		b, h = appendHash(b)
	}
	b = append(b, '\n')
	if _, err := l.out.Write(b); err != nil {
		l.onError(fmt.Errorf("audit log: %w", err))
		return
	}
	l.prev = h
}

// Close closes the file (not stdout).
func (l *Log) Close() error {
	if l.file == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.file.Close()
}

// appendHash returns the object b with a last member "hash": the hex
// SHA-256 of b itself (which holds the previous line's hash in "prev").
func appendHash(b []byte) ([]byte, string) {
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])
	out := make([]byte, 0, len(b)+len(h)+12)
	out = append(out, b[:len(b)-1]...)
	out = append(out, `,"hash":"`...)
	out = append(out, h...)
	out = append(out, `"}`...)
	return out, h
}

// splitHash undoes appendHash: the line without its hash, and the hash,
// after checking that the hash is the line's.
func splitHash(line []byte) ([]byte, string, error) {
	const suffix = len(`,"hash":"`) + 64 + len(`"}`)
	if len(line) < suffix+2 || !bytes.HasPrefix(line[len(line)-suffix:], []byte(`,"hash":"`)) || !bytes.HasSuffix(line, []byte(`"}`)) {
		return nil, "", errors.New("no hash")
	}
	h := string(line[len(line)-suffix+len(`,"hash":"`) : len(line)-2])
	body := append(append([]byte{}, line[:len(line)-suffix]...), '}')
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != h {
		return nil, "", errors.New("the line does not match its hash: it was changed")
	}
	return body, h, nil
}

// VerifyResult is what Verify checked.
type VerifyResult struct {
	Lines int
	// Head is the hash of the last line: record it elsewhere to detect a
	// truncation or a rewrite of the whole chain.
	Head string
}

// Verify reads a chained log and checks every line's hash and link to the
// previous line. The error names the first line (1-based) that fails.
func Verify(r io.Reader) (VerifyResult, error) {
	var res VerifyResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	prev := ""
	for sc.Scan() {
		res.Lines++
		line := sc.Bytes()
		body, h, err := splitHash(line)
		if err != nil {
			return res, fmt.Errorf("line %d: %w", res.Lines, err)
		}
		var rec Record
		if err := json.Unmarshal(body, &rec); err != nil {
			return res, fmt.Errorf("line %d: not an audit record: %w", res.Lines, err)
		}
		if rec.Prev != prev {
			return res, fmt.Errorf("line %d: the chain is broken: it follows %q, the previous line's hash is %q (a line was removed, inserted or reordered)", res.Lines, short(rec.Prev), short(prev))
		}
		prev = h
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return res, fmt.Errorf("line %d: longer than %d bytes", res.Lines+1, MaxLine)
		}
		return res, err
	}
	res.Head = prev
	return res, nil
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "..."
	}
	return h
}

// bound clips r's values (maxValue, maxReason, maxSANs).
func bound(r *Record) {
	r.RequestID = clip(r.RequestID, maxValue)
	r.ClientAddress = clip(r.ClientAddress, maxValue)
	r.Provisioner = clip(r.Provisioner, maxValue)
	r.Subject = clip(r.Subject, maxValue)
	r.Serial = clip(r.Serial, maxValue)
	r.Reason = clip(r.Reason, maxReason)
	if len(r.SANs) > maxSANs {
		more := len(r.SANs) - maxSANs
		r.SANs = append(r.SANs[:maxSANs:maxSANs], fmt.Sprintf("...[%d more]", more))
	}
	for i, s := range r.SANs {
		r.SANs[i] = clip(s, maxValue)
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s...[truncated, %d bytes]", s[:cut], len(s))
}
