package main

import (
	"fmt"
	"os"
	"sort"
)

// experiment is one `zfnet visualize` subcommand.
type experiment struct {
	summary string
	run     func(args []string) error
}

var experiments = map[string]experiment{}

func registerExperiment(name, summary string, run func([]string) error) {
	experiments[name] = experiment{summary, run}
}

func init() {
	register("visualize", "see inside a trained network: project, top9, filters, evolution, invariance, occlusion, correspondence, gallery", runVisualize)
}

func visualizeUsage() {
	fmt.Fprintf(os.Stderr, "Usage: zfnet visualize <experiment> [flags]\n\nEach experiment writes PNGs and an index.html gallery into --out.\n\nExperiments:\n")
	names := make([]string, 0, len(experiments))
	for n := range experiments {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-15s %s\n", n, experiments[n].summary)
	}
}

func runVisualize(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		visualizeUsage()
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	e, ok := experiments[args[0]]
	if !ok {
		visualizeUsage()
		return fmt.Errorf("unknown experiment %q", args[0])
	}
	return e.run(args[1:])
}
