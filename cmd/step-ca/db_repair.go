package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/db/badger"
)

// dbRepairCommand is `step-ca db repair`: the way out when step-ca refuses
// to start on a damaged write-ahead log (badger.ErrDamagedLog).
func dbRepairCommand(stdout, stderr io.Writer) *cli.Command {
	return &cli.Command{
		Name:      "repair",
		Usage:     "keep the writes before the damage in a Badger database's write-ahead log",
		UsageText: "step-ca db repair [--to ca.json] [--drop-damaged]",
		Description: "Checks the write-ahead log (mayfly-wal/) of the Badger database of ca.json, with step-ca\n" +
			"stopped. When step-ca refuses to start because the log is damaged, this reports the damage\n" +
			"and every commit after it that can still be read (by table and key). With --drop-damaged it\n" +
			"then moves the damaged log aside (mayfly-wal.damaged-<time>/, kept unchanged) and writes a\n" +
			"new log holding every commit before the damage, so that step-ca starts again without them.\n" +
			"Without --drop-damaged nothing is changed, and the exit code is 1 when the log is damaged.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "to", Aliases: []string{"config"}, Usage: "the CA's `ca.json` (default $(step path)/config/ca.json)"},
			&cli.StringFlag{Name: "context", EnvVars: []string{"STEP_CA_CONTEXT"}, Usage: "the step context `NAME` whose ca.json to use"},
			&cli.BoolFlag{Name: "drop-damaged", Usage: "move the damaged log aside and keep only the commits before the damage"},
		},
		Action: func(c *cli.Context) error { return dbRepair(c, stdout, stderr) },
	}
}

func dbRepair(c *cli.Context, stdout, stderr io.Writer) error {
	if c.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: step-ca db repair takes only flags", c.Args().First())
	}
	path, err := importTarget(c)
	if err != nil {
		return err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if cfg.DB == nil || !strings.HasPrefix(strings.ToLower(cfg.DB.Type), "badger") {
		return fmt.Errorf("%s has no badger database: only Badger databases have a write-ahead log of Mayfly's", path)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	apply := c.Bool("drop-damaged")
	rep, err := badger.RepairLog(ctx, badger.Options{Dir: cfg.DB.DataSource, ValueDir: cfg.DB.ValueDir,
		FileLoadingMode: cfg.DB.BadgerFileLoadingMode}, apply)
	if err != nil {
		return err
	}
	if rep.Damage == "" {
		fmt.Fprintf(stdout, "the write-ahead log %s is intact: nothing to repair\n", rep.Log)
		return nil
	}
	fmt.Fprintln(stdout, rep.Damage)
	verb, kept := "would drop", "would keep"
	if rep.MovedTo != "" {
		verb, kept = "dropped", "kept"
	}
	fmt.Fprintf(stdout, "%s the %d commits before the damage\n", kept, rep.Kept)
	fmt.Fprintf(stdout, "%s from the log the damaged commit and the %d readable commits after it "+
		"(the database keeps those Badger had already made durable itself):\n", verb, len(rep.Dropped))
	for _, d := range rep.Dropped {
		fmt.Fprintf(stdout, "  %s offset %d: %s\n", filepath.Base(d.Segment), d.Offset, strings.Join(d.Writes, ", "))
	}
	if rep.MovedTo == "" {
		return errors.New("the write-ahead log is damaged and was left as it is: run again with --drop-damaged to keep the commits before the damage (the damaged log is kept aside)")
	}
	fmt.Fprintf(stdout, "the damaged log is kept in %s; step-ca can start\n", rep.MovedTo)
	return nil
}

// withRepairHint adds the way out to step-ca's error on a damaged log.
func withRepairHint(err error, configPath string) error {
	if !errors.Is(err, badger.ErrDamagedLog) {
		return err
	}
	return fmt.Errorf("%w (to start again without the damaged commit and those after it: step-ca db repair --to %s, then with --drop-damaged)", err, configPath)
}
