package main

import (
	"fmt"
	"os"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/watermill-outbox/watermill-outbox/config"
	"github.com/watermill-outbox/watermill-outbox/logging"
)

// configFlag is the name of the persistent flag that points at the YAML
// configuration file.
const configFlag = "config"

// rootCmd is the outboxctl command. Subcommands add themselves to it with
// rootCmd.AddCommand from an init function in their own file. Errors are
// printed once, by main, so cobra's own printing of them is off.
var rootCmd = &cobra.Command{
	Use:   "outboxctl",
	Short: "Operate a watermill-outbox deployment",
	Long: `outboxctl operates a watermill-outbox deployment: the transactional outbox
and idempotent inbox for Watermill, with Kafka as the broker.

Configuration comes from the YAML file given with --config (or named by the
` + config.EnvConfigFile + ` environment variable), overridden by ` + config.EnvPrefix + `*
environment variables; without either, the defaults apply.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func init() { addConfigFlag(rootCmd.PersistentFlags()) }

// addConfigFlag defines --config on fs.
func addConfigFlag(fs *pflag.FlagSet) {
	fs.String(configFlag, "",
		"path to the YAML configuration file (default: $"+config.EnvConfigFile+", else none)")
}

// loadConfig returns the configuration for cmd: the defaults, overlaid with
// the file named by --config (or by the OUTBOX_CONFIG variable when the
// flag is not given) and then with OUTBOX_* environment variables. It does
// not validate: each command validates the sections it uses.
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	path, err := cmd.Flags().GetString(configFlag)
	if err != nil {
		return config.Config{}, fmt.Errorf("flag --%s: %w", configFlag, err)
	}
	if path == "" {
		return config.LoadFromEnv()
	}
	return config.Load(path, os.Environ())
}

// newLogger builds the logger a command writes to: cfg.Log's level and
// format, on the command's stderr.
func newLogger(cmd *cobra.Command, cfg config.Config) (watermill.LoggerAdapter, error) {
	l, err := logging.New(cfg.Log, cmd.ErrOrStderr())
	if err != nil {
		return nil, err
	}
	return l, nil
}
