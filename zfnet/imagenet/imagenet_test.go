package imagenet

import "testing"

// The indices every ImageNet model's logits use: spot checks against the
// standard order (synset ids sorted).
func TestNamesOrder(t *testing.T) {
	n := Names()
	if len(n) != Classes {
		t.Fatalf("%d names, want %d", len(n), Classes)
	}
	for i, want := range map[int]string{0: "tench", 1: "goldfish", 281: "tabby", 285: "Egyptian cat", 504: "coffee mug", 999: "toilet tissue"} {
		if n[i] != want {
			t.Errorf("class %d is %q, want %q", i, n[i], want)
		}
	}
	seen := map[string]int{}
	for i, s := range n {
		if s == "" {
			t.Errorf("class %d has no name", i)
		}
		seen[s]++
	}
	// ImageNet has two different synsets each named "crane" and "maillot".
	for s, c := range seen {
		if c > 1 && s != "crane" && s != "maillot" {
			t.Errorf("name %q appears %d times", s, c)
		}
	}
}
