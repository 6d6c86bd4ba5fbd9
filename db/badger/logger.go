package badger

import (
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"
)

// badgerLogger routes badger's own log lines to a logrus logger at warning
// level and above; badger's info and debug chatter (compactions, flushes,
// replay) is dropped so that nothing reaches stdout.
type badgerLogger struct {
	log logrus.FieldLogger
}

func newBadgerLogger(log logrus.FieldLogger, dir string) *badgerLogger {
	return &badgerLogger{log: log.WithFields(logrus.Fields{"component": "badger", "path": dir})}
}

func (l *badgerLogger) Errorf(format string, args ...any) {
	l.log.Error(clean(format, args))
}

func (l *badgerLogger) Warningf(format string, args ...any) {
	l.log.Warn(clean(format, args))
}

func (l *badgerLogger) Infof(string, ...any) {}

func (l *badgerLogger) Debugf(string, ...any) {}

// clean formats a badger message as one line (badger ends most with "\n" and
// a few span several lines).
func clean(format string, args []any) string {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	return strings.ReplaceAll(msg, "\n", " ")
}

// oneLine wraps a badger error whose text may span several lines (badger
// appends hex dumps and help URLs on new lines) so that it prints as one line
// and still unwraps to the original.
type oneLine struct{ err error }

func (e oneLine) Error() string { return clean("%v", []any{e.err}) }

func (e oneLine) Unwrap() error { return e.err }
