package app

import (
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func testTree() *cli.App {
	leaf := &cli.Command{
		Name: "certificate",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "token"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}},
			&cli.StringSliceFlag{Name: "san"},
			&cli.IntFlag{Name: "size"},
			&cli.DurationFlag{Name: "expires-in"},
		},
	}
	revoke := &cli.Command{Name: "revoke", Flags: []cli.Flag{&cli.StringFlag{Name: "reason"}}}
	return &cli.App{
		Name:  "step",
		Flags: []cli.Flag{&cli.StringFlag{Name: "config"}},
		Commands: []*cli.Command{
			{Name: "ca", Subcommands: []*cli.Command{leaf, revoke}},
			{Name: "version"},
		},
	}
}

func TestReorderArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"flags after positionals", "step ca certificate foo foo.crt foo.key --token T", "step ca certificate --token T foo foo.crt foo.key"},
		{"already ordered", "step ca certificate --token T foo a b", "step ca certificate --token T foo a b"},
		{"mixed", "step ca certificate foo --san a a.crt --san b -f a.key", "step ca certificate --san a --san b -f foo a.crt a.key"},
		{"bool does not eat next", "step ca certificate foo --force a.crt a.key", "step ca certificate --force foo a.crt a.key"},
		{"inline value", "step ca certificate foo --token=T a b", "step ca certificate --token=T foo a b"},
		{"bool inline value", "step ca certificate foo --force=false a", "step ca certificate --force=false foo a"},
		{"single dash value", "step ca certificate foo -token T", "step ca certificate -token T foo"},
		{"dash dash ends flags", "step ca certificate foo -- --token T", "step ca certificate -- foo --token T"},
		{"dash dash with flags before", "step ca certificate --size 3 -- -x", "step ca certificate --size 3 -- -x"},
		{"dash dash no positionals", "step ca certificate --size 3 --", "step ca certificate --size 3"},
		{"stdin dash is positional", "step ca certificate - --token T", "step ca certificate --token T -"},
		{"other leaf", "step ca revoke 123 --reason x", "step ca revoke --reason x 123"},
		{"global flag before command", "step --config c.json ca revoke 1 --reason r", "step --config c.json ca revoke --reason r 1"},
		{"unknown flag is value-less", "step ca revoke 1 --bogus 2", "step ca revoke --bogus 1 2"},
		{"flag value at end missing", "step ca certificate foo --token", "step ca certificate --token foo"},
		{"help flag drops positionals", "step ca certificate foo --help", "step ca certificate --help"},
		{"help command", "step help ca certificate", "step ca certificate --help"},
		{"help alone", "step help", "step help"},
		{"group flag", "step ca --help", "step ca --help"},
		{"unknown command", "step nope a --x", "step --x nope a"},
		{"no args", "step", "step"},
		{"duration and int", "step ca certificate a --expires-in 5m b --size 2048", "step ca certificate --expires-in 5m --size 2048 a b"},
		{"value that looks like a flag", "step ca certificate a --token -b c", "step ca certificate --token -b a c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := strings.Fields(tt.in)
			orig := append([]string(nil), in...)
			got := ReorderArgs(testTree(), in)
			if want := strings.Fields(tt.want); !reflect.DeepEqual(got, want) {
				t.Fatalf("ReorderArgs(%q) = %q, want %q", tt.in, got, want)
			}
			if !reflect.DeepEqual(in, orig) {
				t.Fatalf("ReorderArgs modified its input: %q", in)
			}
		})
	}
}

// TestReorderArgsParses checks that urfave/cli v2 really parses the reordered
// arguments as step users expect.
func TestReorderArgsParses(t *testing.T) { // not parallel: urfave/cli mutates its global HelpFlag on Run
	a := testTree()
	var token string
	var sans, args []string
	var force bool
	leaf := a.Commands[0].Subcommands[0]
	leaf.Action = func(c *cli.Context) error {
		token, sans, force, args = c.String("token"), c.StringSlice("san"), c.Bool("force"), c.Args().Slice()
		return nil
	}
	in := strings.Fields("step ca certificate foo foo.crt --san a.example foo.key --token T -f --san b.example")
	if err := a.Run(ReorderArgs(a, in)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if token != "T" || !force || !reflect.DeepEqual(sans, []string{"a.example", "b.example"}) ||
		!reflect.DeepEqual(args, []string{"foo", "foo.crt", "foo.key"}) {
		t.Fatalf("got token=%q force=%v sans=%q args=%q", token, force, sans, args)
	}
}
