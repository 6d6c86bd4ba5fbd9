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

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/db"
	"github.com/mayfly-pki/mayfly/db/badger"
	"github.com/mayfly-pki/mayfly/db/importer"
	"github.com/mayfly-pki/mayfly/internal/steppath"
	"github.com/mayfly-pki/mayfly/internal/version"
)

// isDBCommand reports whether args (os.Args) run `step-ca db ...` rather than
// the daemon with a configuration file named "db": "db" followed by a
// subcommand or help flag, or alone when no file "db" exists.
func isDBCommand(args []string) bool {
	if len(args) < 2 || args[1] != "db" {
		return false
	}
	if len(args) == 2 {
		_, err := os.Stat("db")
		return err != nil
	}
	switch args[2] {
	case "import", "repair", "help", "h", "--help", "-h":
		return true
	}
	return false
}

// runDB runs `step-ca db <subcommand>`; args starts with the program name.
func runDB(args []string, stdout, stderr io.Writer) error {
	app := &cli.App{
		Name:            "step-ca db",
		HelpName:        "step-ca db",
		Usage:           "database tools",
		Version:         version.Version,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		Commands: []*cli.Command{{
			Name:  "import",
			Usage: "copy certificates, revocations and used tokens into this CA's database",
			UsageText: "step-ca db import --from <badgerv2|badgerv1|bbolt|mysql|postgresql>:<dataSource> [--from-value-dir DIR] [--from-database NAME] [--to ca.json]\n" +
				"   step-ca db import --from-config <source ca.json> [--to ca.json]",
			Description: "Reads a Smallstep step-ca database (its Badger v2 directory, step-ca's default, or v1; its\n" +
				"bbolt file; its key/value tables on MySQL or PostgreSQL) or another Mayfly CA's database\n" +
				"(--from-config, any backend that can list certificates; a step-ca ca.json naming its Badger\n" +
				"directory works too) and writes its X.509 certificates, revocations and used tokens into the\n" +
				"database of the target ca.json, with its SSH certificates and revocations and its ACME records\n" +
				"(but nonces); from another Mayfly database its admin records too. Records of tables Mayfly does\n" +
				"not store (step-ca's CRL and admin tables) are counted and reported as skipped, by table. The\n" +
				"source is only read: stop step-ca first (a Badger directory it holds open is refused). Records\n" +
				"already present are left alone, so running it again is safe.\n\n" +
				"To move from step-ca's default database, move its directory aside (ca.json's db.dataSource\n" +
				"then gets a new Mayfly database) and import it:\n\n" +
				"   mv $(step path)/db $(step path)/db.step-ca\n" +
				"   step-ca db import --from badgerv2:$(step path)/db.step-ca --to $(step path)/config/ca.json",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "from", Usage: "step-ca database `TYPE:DATASOURCE`, e.g. badgerv2:/home/step/.step/db.step-ca, postgresql:postgresql://user@host:5432/stepca or bbolt:/var/lib/step/db"},
				&cli.StringFlag{Name: "from-value-dir", Usage: "value log `DIR` of a Badger source (as ca.json db.valueDir), when it is not the data directory"},
				&cli.StringFlag{Name: "from-database", Usage: "database `NAME` of a SQL source (as ca.json db.database); overrides the DSN's"},
				&cli.StringFlag{Name: "from-config", Usage: "the `ca.json` of a Mayfly CA, or of a step-ca whose database is a Badger directory, whose database is the source"},
				&cli.StringFlag{Name: "to", Aliases: []string{"config"}, Usage: "the target CA's `ca.json` (default $(step path)/config/ca.json)"},
				&cli.StringFlag{Name: "context", EnvVars: []string{"STEP_CA_CONTEXT"}, Usage: "the step context `NAME` whose ca.json is the target"},
				&cli.IntFlag{Name: "workers", Value: importer.DefaultWorkers, Usage: "concurrent writes to the target"},
				&cli.IntFlag{Name: "progress", Value: importer.DefaultProgressEvery, Usage: "print a progress line every `N` records"},
			},
			Action: func(c *cli.Context) error { return dbImport(c, stdout, stderr) },
		}, dbRepairCommand(stdout, stderr)},
	}
	return app.Run(args)
}

func dbImport(c *cli.Context, stdout, stderr io.Writer) error {
	if c.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: step-ca db import takes only flags", c.Args().First())
	}
	from, fromConfig := c.String("from"), c.String("from-config")
	if (from == "") == (fromConfig == "") {
		return errors.New("step-ca db import: give exactly one of --from <type>:<dataSource> and --from-config <ca.json>")
	}
	if fromConfig != "" && (c.String("from-database") != "" || c.String("from-value-dir") != "") {
		return errors.New("step-ca db import: --from-database and --from-value-dir apply to --from only")
	}
	target, err := importTarget(c)
	if err != nil {
		return err
	}
	cfg, err := config.Load(target)
	if err != nil {
		return err
	}
	if cfg.DB == nil {
		return fmt.Errorf("%s has no \"db\" block: there is no database to import into", target)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := logrus.New()
	log.Out, log.Level = stderr, logrus.WarnLevel
	log.Formatter = &logrus.TextFormatter{DisableColors: true, FullTimestamp: true}

	var src importer.Source
	if from != "" {
		src, err = importer.OpenStep(ctx, from, importer.StepOptions{Database: c.String("from-database"), ValueDir: c.String("from-value-dir")})
		var mayfly *importer.MayflySourceError
		if errors.As(err, &mayfly) {
			src, err = openMayflySQLSource(ctx, mayfly, cfg, log)
		}
	} else {
		src, err = openConfigSource(ctx, fromConfig, cfg, log)
	}
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := openStore(ctx, cfg, target, log)
	if err != nil {
		return fmt.Errorf("open the target database of %s: %w", target, err)
	}
	fmt.Fprintf(stderr, "importing from %s into the %s database of %s\n", src.Name(), cfg.DB.Type, target)
	stats, err := importer.Import(ctx, dst, src, importer.Options{
		Workers: c.Int("workers"), Progress: stderr, ProgressEvery: c.Int("progress"),
	})
	if cerr := dst.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close the target database of %s: %w", target, cerr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "stopped after: %s\n", stats)
		return err
	}
	fmt.Fprintln(stdout, stats)
	if line := stats.SkippedLine(); line != "" {
		fmt.Fprintln(stdout, line)
	}
	return nil
}

// importTarget returns the target ca.json: --to, or the context's default.
func importTarget(c *cli.Context) (string, error) {
	if p := c.String("to"); p != "" {
		return p, nil
	}
	if name := c.String("context"); name != "" {
		if err := steppath.UseContext(name); err != nil {
			return "", err
		}
	}
	p, err := steppath.Path()
	if err != nil {
		return "", err
	}
	return filepath.Join(p, "config", "ca.json"), nil
}

// stepBadger reports whether d names a Badger directory written by step-ca
// (Badger v1 or v2) rather than by Mayfly.
func stepBadger(d *config.DB) bool {
	switch strings.ToLower(d.Type) {
	case "badger", "badgerv1", "badgerv2":
	default:
		return false
	}
	f, err := badger.DetectFormat(d.DataSource)
	return err == nil && (f == badger.FormatV1 || f == badger.FormatV2)
}

// openConfigSource opens the database of another Mayfly CA's ca.json,
// refusing the target's own database.
func openConfigSource(ctx context.Context, path string, target *config.Config, log logrus.FieldLogger) (importer.Source, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if cfg.DB == nil {
		return nil, fmt.Errorf("%s has no \"db\" block: its CA keeps no database to import from", path)
	}
	if sameDB(cfg.DB, target.DB) {
		return nil, fmt.Errorf("%s uses the target's own database: nothing to import", path)
	}
	if stepBadger(cfg.DB) {
		// A real step-ca's ca.json: its Badger v1/v2 directory.
		return importer.OpenStep(ctx, "badger:"+cfg.DB.DataSource, importer.StepOptions{ValueDir: cfg.DB.ValueDir})
	}
	st, err := db.Open(ctx, dbOptions(cfg), log)
	if err != nil {
		return nil, fmt.Errorf("open the source database of %s: %w", path, err)
	}
	src, err := importer.FromStore(st, cfg.DB.Type+" database of "+path)
	if err != nil {
		st.Close()
		return nil, err
	}
	return src, nil
}

// openMayflySQLSource opens, read-only, the Mayfly database that --from
// named (a MySQL or PostgreSQL database with Mayfly's schema, which must be
// current), refusing the target's own database.
func openMayflySQLSource(ctx context.Context, m *importer.MayflySourceError, target *config.Config, log logrus.FieldLogger) (importer.Source, error) {
	if sameDB(&config.DB{Type: m.Type, DataSource: m.DataSource, Database: m.Database}, target.DB) {
		return nil, fmt.Errorf("source %s is the target's own database: nothing to import", m.Display)
	}
	st, err := db.Open(ctx, &db.Options{Type: m.Type, DataSource: m.DataSource, Database: m.Database, ReadOnly: true}, log)
	if err != nil {
		return nil, fmt.Errorf("open the source %s (a Mayfly database): %w", m.Display, err)
	}
	src, err := importer.FromStore(st, m.Display+" (Mayfly)")
	if err != nil {
		st.Close()
		return nil, err
	}
	return src, nil
}

func sameDB(a, b *config.DB) bool {
	return strings.EqualFold(a.Type, b.Type) && a.DataSource == b.DataSource && a.Database == b.Database
}
