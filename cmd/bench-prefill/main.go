// Command bench-prefill fills a CA's database with n issued certificates
// before `make bench` measures it (tools/bench --prefill). It is a tool of
// the bench, not part of the product.
//
// Each record goes through the same code as POST /1.0/sign minus HTTP: a
// JWK token minted as `step ca token` mints it, a CSR, and authority.Sign
// on an authority built from the CA's ca.json (its roots, intermediate,
// JWK provisioners, claims) over the database ca.json names. So the
// database holds what that many API signs would leave: one used_ott record
// (key: the token's reuse key, value: the token), one x509_certs record
// (the DER) and one x509_certs_data record per certificate, in the store's
// layout; TestPrefillLayoutMatchesAPI checks it against an API sign.
//
//	bench-prefill --ca-config $STEPPATH/config/ca.json --password-file pw --n 1000000
//	bench-prefill step-layout --from $STEPPATH/db --to /tmp/step-layout
//
// step-layout copies the records into a Badger v2 directory as step-ca
// writes them, to measure the disk step-ca's layout needs (see
// steplayout.go).
//
// The CA must not be running (the embedded databases are locked by their
// process). Exit status 0 on success, 1 on any error (one line on stderr).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-prefill:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "step-layout" {
		return stepLayout(ctx, args[1:], stderr)
	}
	fs := flag.NewFlagSet("bench-prefill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o fillOptions
	fs.StringVar(&o.ConfigPath, "ca-config", "", "the CA's ca.json (required)")
	fs.StringVar(&o.PasswordFile, "password-file", "", "password of the intermediate key and the provisioner key (required)")
	fs.StringVar(&o.Provisioner, "provisioner", "", "JWK provisioner name (default: the first JWK provisioner)")
	fs.IntVar(&o.N, "n", 0, "certificates to issue (required, at least 1)")
	fs.IntVar(&o.C, "c", 64, "concurrent signers (the store commits their writes in groups)")
	fs.IntVar(&o.Keys, "keys", 256, "distinct client keys and CSRs, used round-robin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.ConfigPath == "" || o.PasswordFile == "" {
		return errors.New("--ca-config and --password-file are required")
	}
	if o.N < 1 || o.C < 1 || o.Keys < 1 {
		return errors.New("--n, --c and --keys must be at least 1")
	}
	f, err := newFiller(ctx, o)
	if err != nil {
		return err
	}
	start := time.Now()
	err = f.fill(ctx, o.N, o.C, func(done int) {
		el := time.Since(start)
		fmt.Fprintf(stderr, "bench-prefill: %d/%d certificates (%.0f/s)\n", done, o.N, float64(done)/el.Seconds())
	})
	if cerr := f.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bench-prefill: %d certificates in %v\n", o.N, time.Since(start).Round(time.Millisecond))
	return nil
}

// fill issues n certificates with c workers; report is called (from one
// goroutine at a time) every 50,000 certificates and at the end.
func (f *filler) fill(ctx context.Context, n, c int, report func(done int)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next, done atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range max(1, min(c, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := f.signOne(ctx, i); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("certificate %d: %w", i+1, err)
					}
					mu.Unlock()
					cancel()
					return
				}
				if d := done.Add(1); d%50_000 == 0 || int(d) == n {
					mu.Lock()
					report(int(d))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// workers is the default parallelism for key generation.
func workers() int { return runtime.NumCPU() }
