package data

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/zfnet/zfnet/data/testenv"
)

// makeFolder writes an ImageNet-layout folder of real JPEG, PNG and GIF
// files: perClass pictures in each of the classes.
func makeFolder(t testing.TB, root string, classes []string, perClass int) {
	for ci, c := range classes {
		for i := 0; i < perClass; i++ {
			img := testPicture(40+i, 30+ci, ci*10+i)
			var name string
			var b []byte
			switch i % 3 {
			case 0:
				name, b = "p.jpg", encodeJPEG(t, img)
			case 1:
				name, b = "p.png", encodePNG(t, img)
			default:
				name, b = "p.gif", encodeGIF(t, img)
			}
			writeFile(t, filepath.Join(root, c, string(rune('a'+i))+name), b)
		}
	}
}

func TestFolderSource(t *testing.T) {
	root := t.TempDir()
	makeFolder(t, root, []string{"zebra", "ant", "cat"}, 4)
	writeFile(t, filepath.Join(root, "ant", ".DS_Store"), []byte("junk"))
	writeFile(t, filepath.Join(root, "README"), []byte("files at the root are ignored"))
	writeFile(t, filepath.Join(root, "cat", "gray.png"), encodePNG(t, grayPicture(20, 10)))
	s, sk, err := OpenFolder(root, "f", nil, FailOnBad)
	if err != nil || len(sk) != 0 {
		t.Fatal(err, sk)
	}
	if got := strings.Join(s.Classes(), ","); got != "ant,cat,zebra" {
		t.Fatalf("classes %s", got)
	}
	if s.Len() != 13 {
		t.Fatalf("len %d", s.Len())
	}
	for i := 0; i < s.Len(); i++ {
		im, err := s.Load(i)
		if err != nil {
			t.Fatal(err)
		}
		wantC := 3
		if strings.HasSuffix(im.Path, "gray.png") {
			wantC = 1
		}
		if im.C != wantC || len(im.Pix) != im.C*im.H*im.W {
			t.Fatalf("%s: %dx%dx%d", im.Path, im.C, im.H, im.W)
		}
		if s.Classes()[im.Label] != filepath.Base(filepath.Dir(im.Path)) {
			t.Fatalf("%s labelled %s", im.Path, s.Classes()[im.Label])
		}
	}
}

func TestFolderBadInput(t *testing.T) {
	root := t.TempDir()
	makeFolder(t, root, []string{"a", "b"}, 3)
	good := encodeJPEG(t, testPicture(50, 40, 1))
	writeFile(t, filepath.Join(root, "a", "trunc.jpg"), good[:len(good)/2])
	writeFile(t, filepath.Join(root, "b", "notimage.png"), []byte("this is text, not a PNG"))
	s, _, err := OpenFolder(root, "f", nil, FailOnBad)
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	for i := 0; i < s.Len(); i++ {
		if _, err := s.Load(i); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) != 2 {
		t.Fatalf("errors %q", errs)
	}
	if !strings.Contains(errs[0], "trunc.jpg") || !strings.Contains(errs[0], "truncated jpeg") {
		t.Errorf("truncated JPEG: %s", errs[0])
	}
	if !strings.Contains(errs[1], "notimage.png") || !strings.Contains(errs[1], "expected a JPEG, PNG") {
		t.Errorf("not an image: %s", errs[1])
	}

	// The loader reports the broken files under SkipBad and fails under FailOnBad.
	pre := ImageNetPreprocess(Geometry{3, 16, 16})
	pre.Resize = 20
	l, err := NewLoader(s, LoaderConfig{BatchSize: 3, Pre: pre, Policy: SkipBad, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	st := l.Start(0, 0)
	valid := 0
	for {
		b, err := st.Next()
		if err != nil {
			break
		}
		valid += b.Valid
	}
	st.Close()
	sk := l.Skipped()
	if valid != 6 || len(sk) != 2 || !strings.HasSuffix(sk[0].Path, "trunc.jpg") || !strings.HasSuffix(sk[1].Path, "notimage.png") {
		t.Fatalf("skip report: %d valid, %v", valid, sk)
	}
	l, _ = NewLoader(s, LoaderConfig{BatchSize: 3, Pre: pre, Workers: 2})
	st = l.Start(0, 0)
	for err == nil {
		_, err = st.Next()
	}
	st.Close()
	if !strings.Contains(err.Error(), "trunc.jpg") {
		t.Fatalf("fail policy: %v", err)
	}

	// Unsupported file types and empty class folders.
	writeFile(t, filepath.Join(root, "b", "notes.txt"), []byte("x"))
	if err := os.MkdirAll(filepath.Join(root, "c_empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenFolder(root, "f", nil, FailOnBad); err == nil || !strings.Contains(err.Error(), "notes.txt") || !strings.Contains(err.Error(), "unsupported") {
		t.Errorf("unsupported file: %v", err)
	}
	os.Remove(filepath.Join(root, "b", "notes.txt"))
	if _, _, err := OpenFolder(root, "f", nil, FailOnBad); err == nil || !strings.Contains(err.Error(), "c_empty") || !strings.Contains(err.Error(), "empty class folder") {
		t.Errorf("empty class: %v", err)
	}
	writeFile(t, filepath.Join(root, "b", "notes.txt"), []byte("x"))
	s, sk, err = OpenFolder(root, "f", nil, SkipBad)
	if err != nil || len(sk) != 2 || len(s.Classes()) != 3 {
		t.Fatalf("skip: %v %v", err, sk)
	}

	// Unreadable and missing roots.
	if _, _, err := OpenFolder(filepath.Join(root, "nope"), "f", nil, FailOnBad); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing root: %v", err)
	}
	// An unreadable class folder: TestOpenFolderUnreadableClass.
}

// TestOpenFolderUnreadableClass: a class folder the user may not read is an
// error naming it. Root reads everything, so as root the test runs itself
// again as user nobody (a copy of the test binary in a folder nobody may
// enter); where that is impossible it says so and skips loudly.
func TestOpenFolderUnreadableClass(t *testing.T) {
	if os.Getuid() == 0 {
		asNobody(t, "TestOpenFolderUnreadableClass")
		return
	}
	root, err := os.MkdirTemp("", "unreadable")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(root)
	makeFolder(t, root, []string{"a", "b"}, 2)
	if err := os.Chmod(filepath.Join(root, "a"), 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Join(root, "a"), 0o755)
	if _, err := os.ReadDir(filepath.Join(root, "a")); err == nil {
		t.Fatalf("uid %d reads a folder of mode 0: permission bits do not apply here", os.Getuid())
	}
	if _, _, err := OpenFolder(root, "f", nil, FailOnBad); err == nil || !strings.Contains(err.Error(), filepath.Join(root, "a")) || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("unreadable class: got %v, want an error naming %s and the permission", err, filepath.Join(root, "a"))
	}
}

// asNobody runs test `name` of this test binary as uid/gid 65534 and fails
// with its output when it fails.
func asNobody(t *testing.T, name string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		testenv.SkipLoudly(t, "running as root and cannot find the test binary to run as nobody: %v", err)
	}
	dir, err := os.MkdirTemp("", "asnobody")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "data.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run", "^"+name+"$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			testenv.SkipLoudly(t, "running as root, where permission bits do not apply, and cannot run as nobody: %v", err)
		}
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("as nobody, %s did not pass:\n%s", name, out)
	}
	t.Logf("ran as nobody:\n%s", out)
}

func TestOpenFolderSet(t *testing.T) {
	root := t.TempDir()
	makeFolder(t, filepath.Join(root, "train"), []string{"a", "b", "c"}, 6)
	makeFolder(t, filepath.Join(root, "val"), []string{"a", "c"}, 2)
	set, err := Open("folder:"+root, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if set.Train.Len() != 18 || set.Test.Len() != 4 || len(set.Classes) != 3 || set.Val != nil {
		t.Fatalf("train %d test %d classes %v", set.Train.Len(), set.Test.Len(), set.Classes)
	}
	// Validation labels follow the training classes: c is class 2.
	if im, err := set.Test.Load(3); err != nil || im.Label != 2 {
		t.Fatalf("val label: %v %v", im, err)
	}
	makeFolder(t, filepath.Join(root, "val"), []string{"d"}, 1)
	if _, err := Open("folder:"+root, OpenOptions{}); err == nil || !strings.Contains(err.Error(), `"d"`) {
		t.Fatalf("unknown val class: %v", err)
	}

	// Without train/ and val/, a seeded stratified split.
	flat := t.TempDir()
	makeFolder(t, flat, []string{"x", "y"}, 10)
	set, err = Open("folder:"+flat, OpenOptions{ValFraction: 0.2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if set.Train.Len() != 16 || set.Test.Len() != 4 {
		t.Fatalf("split %d/%d", set.Train.Len(), set.Test.Len())
	}
	counts := map[int]int{}
	for i := 0; i < set.Test.Len(); i++ {
		im, _ := set.Test.Load(i)
		counts[im.Label]++
	}
	if counts[0] != 2 || counts[1] != 2 {
		t.Fatalf("not stratified: %v", counts)
	}
	set2, _ := Open("folder:"+flat, OpenOptions{ValFraction: 0.2, Seed: 3})
	for i := 0; i < 4; i++ {
		a, _ := set.Test.Load(i)
		b, _ := set2.Test.Load(i)
		if a.Path != b.Path {
			t.Fatal("split not deterministic")
		}
	}
	if _, err := Open("folder:"+filepath.Join(flat, "x", "ap.jpg"), OpenOptions{}); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("file as folder: %v", err)
	}
	if _, err := Open("folder:", OpenOptions{}); err == nil {
		t.Fatal("empty folder spec accepted")
	}
	if _, err := Open("imagenet", OpenOptions{}); err == nil || !strings.Contains(err.Error(), "expected one of") {
		t.Fatalf("unknown spec: %v", err)
	}
}

func TestListSource(t *testing.T) {
	dir := t.TempDir()
	makeFolder(t, filepath.Join(dir, "img"), []string{"cat", "dog"}, 3)
	tsv := "# a comment\n\nimg/cat/ap.jpg\tcat\nimg/cat/bp.png\tcat\nimg/dog/ap.jpg\tdog\nimg/dog/cp.gif\tdog\n"
	writeFile(t, filepath.Join(dir, "l.tsv"), []byte(tsv))
	s, err := OpenList(filepath.Join(dir, "l.tsv"), "l")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 4 || strings.Join(s.Classes(), ",") != "cat,dog" {
		t.Fatalf("%d %v", s.Len(), s.Classes())
	}
	im, err := s.Load(3)
	if err != nil || im.Label != 1 || im.C != 3 {
		t.Fatalf("%v %v", im, err)
	}
	csv := "path,label\n\"img/cat/ap.jpg\",0\nimg/dog/ap.jpg,4\n" + filepath.Join(dir, "img/dog/bp.png") + ",2\n"
	writeFile(t, filepath.Join(dir, "l.csv"), []byte(csv))
	s, err = OpenList(filepath.Join(dir, "l.csv"), "l")
	if err != nil || s.Len() != 3 || len(s.Classes()) != 5 {
		t.Fatalf("csv: %v %v", s, err)
	}
	if im, err := s.Load(1); err != nil || im.Label != 4 {
		t.Fatal(im, err)
	}
	set, err := Open("list:"+filepath.Join(dir, "l.tsv"), OpenOptions{ValFraction: 0.5})
	if err != nil || set.Train.Len() != 2 || set.Test.Len() != 2 {
		t.Fatalf("open list: %v %v", set, err)
	}
	for name, body := range map[string]string{
		"neg.csv":   "a.jpg,-1\n",
		"bad.csv":   "a.jpg\n",
		"empty.csv": "# nothing\n",
	} {
		writeFile(t, filepath.Join(dir, name), []byte(body))
		if _, err := OpenList(filepath.Join(dir, name), "l"); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	writeFile(t, filepath.Join(dir, "missing.tsv"), []byte("nothere.jpg\t0\n"))
	s, _ = OpenList(filepath.Join(dir, "missing.tsv"), "l")
	if _, err := s.Load(0); err == nil || !strings.Contains(err.Error(), "nothere.jpg") {
		t.Errorf("missing file: %v", err)
	}
}
