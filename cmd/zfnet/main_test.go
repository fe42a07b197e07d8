package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zfnet/zfnet/zfnet"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zfnet-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "zfnet")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run executes the command and returns its exit code and combined output.
func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.npz")
	os.WriteFile(junk, []byte("junk"), 0o644)
	cases := []struct {
		args []string
		code int
		says string
	}{
		{nil, 2, "Usage: zfnet <command>"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"train", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"train", "--epochs", "0", "--out", filepath.Join(dir, "r0")}, 1, "epochs must be at least 1"},
		{[]string{"train", "--lr", "-1", "--out", filepath.Join(dir, "r1")}, 1, "learning rate must be positive"},
		{[]string{"train", "--data", "imagenet", "--out", filepath.Join(dir, "r2")}, 1, "imagenet"},
		{[]string{"train", "--arch", "vgg", "--out", filepath.Join(dir, "r3")}, 1, `unknown architecture "vgg"`},
		{[]string{"train", "--data", "folder:" + filepath.Join(dir, "nowhere"), "--out", filepath.Join(dir, "r4")}, 1, "nowhere"},
		{[]string{"predict", "--checkpoint", filepath.Join(dir, "missing.npz"), "x.png"}, 1, "missing.npz"},
		{[]string{"evaluate", "--weights", junk, "--data", "mnist"}, 1, "junk.npz: expected a NumPy .npz"},
		{[]string{"evaluate"}, 1, "give exactly one of --checkpoint or --weights"},
		{[]string{"arch", "--arch", "zfnet", "--input", "3x20x20"}, 1, "layer conv2: input 4x4 is smaller than the 5x5 kernel"},
		{[]string{"arch", "--input", "banana"}, 1, "expected CxHxW"},
		{[]string{"visualize", "nothing"}, 1, `unknown experiment "nothing"`},
		{[]string{"bench", "--arch", "zfnet-small", "--cpuprofile", filepath.Join(dir, "no", "such", "dir", "p")}, 1, "--cpuprofile"},
	}
	for _, c := range cases {
		code, out := run(t, c.args...)
		if code != c.code || !strings.Contains(out, c.says) {
			t.Errorf("zfnet %s: exit %d, output:\n%s\nwant exit %d and %q", strings.Join(c.args, " "), code, out, c.code, c.says)
		}
		if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
			t.Errorf("zfnet %s panicked:\n%s", strings.Join(c.args, " "), out)
		}
	}
}

// TestCPUProfile: bench --cpuprofile writes a profile pprof can read.
func TestCPUProfile(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	code, out := run(t, "bench", "--arch", "zfnet-small", "--batch", "16", "--steps", "3", "--cpuprofile", prof)
	if code != 0 || !strings.Contains(out, "images_per_s=") {
		t.Fatalf("exit %d: %s", code, out)
	}
	top, err := exec.Command("go", "tool", "pprof", "-top", binary, prof).CombinedOutput()
	if err != nil || !strings.Contains(string(top), "flat%") {
		t.Fatalf("go tool pprof %s: %v\n%s", prof, err, top)
	}
}

func TestArchTable(t *testing.T) {
	code, out := run(t, "arch", "--arch", "zfnet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, s := range []string{"96x110x110", "96x55x55", "256x26x26", "256x13x13", "1024x13x13", "512x6x6", "18432", "2.48G"} {
		if !strings.Contains(out, s) {
			t.Errorf("layer table lacks %q:\n%s", s, out)
		}
	}
}

// TestSignalWritesCheckpointAndResumes sends SIGINT mid-training: the run
// finishes its step, writes a checkpoint, exits 0, and --resume finishes it.
func TestSignalWritesCheckpointAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	out := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(binary, "train", "--limit", "1536", "--batch", "64", "--epochs", "2", "--val-fraction", "0.01", "--out", out)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1000)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The initial checkpoint is written just before the first step: once it
	// exists, training is under way. Then interrupt.
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(out, zfnet.CheckpointFile)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint within 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	var seen strings.Builder
	for l := range lines {
		seen.WriteString(l + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("interrupted train: %v\n%s", err, seen.String())
	}
	if !strings.Contains(seen.String(), "interrupted: checkpoint written") {
		t.Fatalf("no interruption message:\n%s", seen.String())
	}
	ck, err := zfnet.LoadCheckpoint(filepath.Join(out, zfnet.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if ck.State.Epoch == 2 {
		t.Fatalf("the run finished before the signal; no resume to test")
	}
	code, text := run(t, "train", "--resume", out, "--quiet")
	if code != 0 || !strings.Contains(text, "resuming") || !strings.Contains(text, "test top-1") {
		t.Fatalf("resume: exit %d\n%s", code, text)
	}
}

// TestDefaultRunDir: without --out, runs on different data get different
// folders, and the default run keeps the README's runs/zfnet-small-mnist.
func TestDefaultRunDir(t *testing.T) {
	for _, c := range []struct{ arch, data, want string }{
		{"zfnet-small", "mnist", "runs/zfnet-small-mnist"},
		{"zfnet-small", "fashion-mnist", "runs/zfnet-small-fashion-mnist"},
		{"zfnet", "folder:/data/my photos/", "runs/zfnet-folder-my-photos"},
		{"zfnet-small", "cifar10:cifar-10-batches-bin", "runs/zfnet-small-cifar10-cifar-10-batches-bin"},
	} {
		if got := defaultRunDir(c.arch, c.data); got != filepath.FromSlash(c.want) {
			t.Errorf("defaultRunDir(%q, %q) = %q, want %q", c.arch, c.data, got, c.want)
		}
	}
}
