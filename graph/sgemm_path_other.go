//go:build !amd64

package graph

// Without amd64 assembly the only SGEMM path is gonum's ("go").

func sgemmAvailable() []string { return []string{"go"} }

func sgemmPath() string { return "go" }

// sgemmUse accepts only "go" here.
func sgemmUse(name string) func() {
	if name != "go" {
		panic("sgemmUse: path " + name + " unavailable")
	}
	return func() {}
}

func sgemmBLASName() string { return "gonum (pure Go)" }
