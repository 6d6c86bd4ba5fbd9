// Package version holds the product version, set at build time with
// -ldflags "-X github.com/mayfly-pki/mayfly/internal/version.Version=1.2.3".
package version

import "runtime"

// Version is the release version of both binaries. It is a var only so that the
// linker can set it; nothing assigns it at run time.
var Version = "0.1.0-dev"

// Platform returns "<GOOS>/<GOARCH>", as shown in version strings and User-Agent headers.
func Platform() string { return runtime.GOOS + "/" + runtime.GOARCH }
