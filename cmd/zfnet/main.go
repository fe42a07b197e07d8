// Command zfnet trains ZFNet, evaluates it, predicts with it and shows what
// it has learned (zfnet visualize). Run `zfnet help` for the subcommands.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// command is one subcommand; run gets the arguments after its name.
type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

func register(name, summary string, run func([]string) error) {
	commands[name] = command{summary, run}
}

func usage() {
	fmt.Fprintf(os.Stderr, "zfnet: ZFNet (Zeiler & Fergus 2014) in Go: train it, evaluate it, see inside it.\n\nUsage: zfnet <command> [flags]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'zfnet <command> -h' for a command's flags.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "help" || os.Args[1] == "-h" || os.Args[1] == "--help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	c, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "zfnet: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := c.run(os.Args[2:]); err != nil {
		if err == errUsage {
			os.Exit(2)
		}
		msg := err.Error()
		if !strings.HasSuffix(msg, "\n") {
			msg += "\n"
		}
		fmt.Fprintf(os.Stderr, "zfnet %s: %s", os.Args[1], msg)
		os.Exit(1)
	}
}
