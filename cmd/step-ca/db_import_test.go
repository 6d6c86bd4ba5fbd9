package main

import "testing"

func TestIsDBCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"step-ca"}, false},
		{[]string{"step-ca", "ca.json", "--password-file", "pw"}, false},
		{[]string{"step-ca", "db", "import", "--from", "bbolt:x"}, true},
		{[]string{"step-ca", "db", "--help"}, true},
		{[]string{"step-ca", "db", "help"}, true},
		{[]string{"step-ca", "db"}, true}, // no file "db" in the package directory
		{[]string{"step-ca", "db", "--password-file", "pw"}, false},
		{[]string{"step-ca", "--password-file", "pw", "db"}, false},
	} {
		if got := isDBCommand(tc.args); got != tc.want {
			t.Errorf("isDBCommand(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
