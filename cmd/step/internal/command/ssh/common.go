package ssh

import (
	"context"
	"time"

	"github.com/urfave/cli/v2"
)

// requestTimeout bounds one command's calls to the CA.
const requestTimeout = 60 * time.Second

func timeoutCtx(c *cli.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Context, requestTimeout)
}
