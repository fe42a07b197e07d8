package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/zfnet/zfnet/data"
)

// errUsage reports that the flag package already printed the problem.
var errUsage = errors.New("usage")

// newFlags makes a subcommand's flag set with a usage line.
func newFlags(name, args, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("zfnet "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: zfnet %s [flags] %s\n\n%s\n\nFlags:\n", name, args, about)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; -h prints the usage and ends the command quietly.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		return errUsage
	}
	return nil
}

// intList is a comma-separated list of whole numbers from 0 (epochs, data
// set indices).
type intList []int

func (l *intList) String() string {
	s := make([]string, len(*l))
	for i, v := range *l {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	*l = nil
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a whole number from 0", f)
		}
		*l = append(*l, n)
	}
	return nil
}

// setThreads applies --threads (0: all cores).
func setThreads(n int) {
	if n > 0 {
		runtime.GOMAXPROCS(n)
	}
}

// flagOutput receives notes that are not errors.
var flagOutput = os.Stderr

// flagSet says whether the user gave the named flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// cpuProfileFlag adds --cpuprofile to fs; the returned start function begins
// profiling once the flags are parsed and returns the function that ends it.
func cpuProfileFlag(fs *flag.FlagSet) (start func() (stop func(), err error)) {
	path := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	return func() (func(), error) {
		if *path == "" {
			return func() {}, nil
		}
		f, err := os.Create(*path)
		if err != nil {
			return nil, fmt.Errorf("--cpuprofile: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("--cpuprofile %s: %v", *path, err)
		}
		return func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				fmt.Fprintf(flagOutput, "--cpuprofile %s: %v\n", *path, err)
			}
		}, nil
	}
}

// pictureFlag is --images of the experiments that look at a few pictures:
// test-set indices ("0,1,2"), or a folder of pictures, which then replaces
// the data set (photographs need no data set).
type pictureFlag struct {
	indices intList
	dir     string
}

func (p *pictureFlag) String() string {
	if p.dir != "" {
		return p.dir
	}
	return p.indices.String()
}

func (p *pictureFlag) Set(v string) error {
	if st, err := os.Stat(v); err == nil && st.IsDir() {
		p.dir, p.indices = v, nil
		return nil
	}
	p.dir = ""
	if err := p.indices.Set(v); err != nil {
		return fmt.Errorf("%v: expected test-set indices (0,1,2) or a folder of pictures", err)
	}
	return nil
}

// use points the model flags at the folder, if one was given, and returns
// the indices to look at: the ones given, or the folder's first n.
func (p *pictureFlag) use(mf *modelFlags, n int) []int {
	if p.dir == "" {
		return p.indices
	}
	mf.imageDir = p.dir
	if len(p.indices) > 0 {
		return p.indices
	}
	paths, _ := data.ImagePaths(p.dir)
	idx := make([]int, min(n, len(paths)))
	for i := range idx {
		idx[i] = i
	}
	return idx
}
