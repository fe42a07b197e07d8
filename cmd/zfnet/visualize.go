package main

import (
	"fmt"
	"os"
	"sort"
)

// experiment is one `zfnet visualize` subcommand; visualizations holds them by name.
type experiment struct {
	summary string
	run     func(args []string) error
}

var visualizations = map[string]experiment{}

func registerExperiment(name, summary string, run func([]string) error) {
	visualizations[name] = experiment{summary, run}
}

func init() {
	register("visualize", "see inside a trained network: project, top9, filters, evolution, invariance, occlusion, correspondence, gallery", runVisualize)
}

func visualizeUsage() {
	fmt.Fprintf(os.Stderr, "Usage: zfnet visualize <experiment> [flags]\n\nEach experiment writes PNGs and an index.html gallery into --out.\n\nExperiments:\n")
	names := make([]string, 0, len(visualizations))
	for n := range visualizations {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-15s %s\n", n, visualizations[n].summary)
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
	e, ok := visualizations[args[0]]
	if !ok {
		visualizeUsage()
		return fmt.Errorf("unknown experiment %q", args[0])
	}
	return e.run(args[1:])
}
