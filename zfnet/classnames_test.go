package zfnet

import (
	"context"
	"path/filepath"
	"testing"
)

// A checkpoint carries its training set's class names in label order, so
// that predict prints names without the data set (issue 17, item 6).
func TestCheckpointCarriesClassNames(t *testing.T) {
	dir := t.TempDir()
	pictureFolder(t, filepath.Join(dir, "pics"), 3, 6, sameSize(28, 28))
	cfg := oneStep(filepath.Join(dir, "pics"), filepath.Join(dir, "run"))
	if _, err := Train(context.Background(), cfg, false, Hooks{}); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(filepath.Join(cfg.Out, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"class0", "class1", "class2"}
	if got := ck.State.ClassNames; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("checkpoint class names %q, want %q", got, want)
	}
}
