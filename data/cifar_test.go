package data

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// cifarRecords makes n records in format f with labels i%NumClasses.
func cifarRecords(n int, f CIFARFormat) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		lab := make([]byte, f.LabelBytes)
		lab[f.LabelIndex] = byte(i % f.NumClasses)
		b.Write(lab)
		for j := 0; j < cifarPixels; j++ {
			b.WriteByte(byte(i + j))
		}
	}
	return b.Bytes()
}

func TestParseCIFAR(t *testing.T) {
	b, err := ParseCIFAR(cifarRecords(3, CIFAR10Format), "x.bin", CIFAR10Format)
	if err != nil || len(b.Labels) != 3 || b.Labels[2] != 2 || b.Pix[cifarPixels] != 1 {
		t.Fatalf("%v %v", b, err)
	}
	b, err = ParseCIFAR(cifarRecords(2, CIFAR100Format), "y.bin", CIFAR100Format)
	if err != nil || b.Labels[1] != 1 {
		t.Fatalf("%v %v", b, err)
	}
	cases := []struct {
		name string
		data []byte
		f    CIFARFormat
		want string
	}{
		{"empty", nil, CIFAR10Format, "empty"},
		{"truncated", cifarRecords(2, CIFAR10Format)[:5000], CIFAR10Format, "3073-byte records"},
		{"mixed up", cifarRecords(3, CIFAR100Format), CIFAR10Format, "CIFAR-10 vs CIFAR-100"},
		{"label", append([]byte{10}, make([]byte, cifarPixels)...), CIFAR10Format, "label 10"},
	}
	for _, c := range cases {
		_, err := ParseCIFAR(c.data, "x.bin", c.f)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "x.bin") {
			t.Errorf("%s: %v; want %q", c.name, err, c.want)
		}
	}
}

func TestOpenCIFAR(t *testing.T) {
	dir := t.TempDir()
	d10 := filepath.Join(dir, "c10", "cifar-10-batches-bin")
	for i := 1; i <= 5; i++ {
		writeFile(t, filepath.Join(d10, fmt.Sprintf("data_batch_%d.bin", i)), cifarRecords(4, CIFAR10Format))
	}
	writeFile(t, filepath.Join(d10, "test_batch.bin"), cifarRecords(3, CIFAR10Format))
	writeFile(t, filepath.Join(d10, "batches.meta.txt"), []byte(strings.Join(cifar10Classes, "\n")+"\n\n"))
	set, err := Open("cifar10:"+filepath.Join(dir, "c10"), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if set.Train.Len() != 20 || set.Test.Len() != 3 || set.Classes[9] != "truck" {
		t.Fatalf("train %d test %d classes %v", set.Train.Len(), set.Test.Len(), set.Classes)
	}
	im, err := set.Train.Load(5)
	if err != nil || im.C != 3 || im.H != 32 || im.Label != 1 || !strings.HasSuffix(im.Path, "data_batch_2.bin#1") {
		t.Fatalf("%+v %v", im.Path, err)
	}

	d100 := filepath.Join(dir, "c100")
	writeFile(t, filepath.Join(d100, "train.bin"), cifarRecords(5, CIFAR100Format))
	writeFile(t, filepath.Join(d100, "test.bin"), cifarRecords(2, CIFAR100Format)[:100])
	if _, err := Open("cifar100:"+d100, OpenOptions{}); err == nil || !strings.Contains(err.Error(), "test.bin") {
		t.Fatalf("truncated test.bin: %v", err)
	}
	writeFile(t, filepath.Join(d100, "test.bin"), cifarRecords(2, CIFAR100Format))
	set, err = Open("cifar100:"+d100, OpenOptions{})
	if err != nil || set.Train.Len() != 5 || len(set.Classes) != 100 {
		t.Fatalf("%v %v", set, err)
	}
	if _, err := Open("cifar10:"+d100, OpenOptions{}); err == nil || !strings.Contains(err.Error(), "data_batch_1.bin") {
		t.Fatalf("wrong folder: %v", err)
	}
}

// FuzzCIFAR checks that no input makes the CIFAR parser panic.
func FuzzCIFAR(f *testing.F) {
	f.Add(cifarRecords(1, CIFAR10Format), false)
	f.Add(cifarRecords(1, CIFAR100Format), true)
	f.Add([]byte{200}, false)
	f.Fuzz(func(t *testing.T, b []byte, hundred bool) {
		format := CIFAR10Format
		if hundred {
			format = CIFAR100Format
		}
		batch, err := ParseCIFAR(b, "fuzz", format)
		if err != nil {
			return
		}
		if len(batch.Pix) != len(batch.Labels)*cifarPixels {
			t.Fatalf("%d labels, %d pixels", len(batch.Labels), len(batch.Pix))
		}
		for _, l := range batch.Labels {
			if int(l) >= format.NumClasses {
				t.Fatalf("label %d accepted", l)
			}
		}
	})
}
