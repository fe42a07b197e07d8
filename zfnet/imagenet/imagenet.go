package imagenet

import (
	_ "embed"
	"strings"
)

//go:embed classes.txt
var classesTxt string

// Classes is the number of ImageNet classes.
const Classes = 1000

// Names returns a fresh copy of the 1000 class names in index order.
func Names() []string {
	names := strings.Split(strings.TrimSuffix(classesTxt, "\n"), "\n")
	if len(names) != Classes {
		panic("imagenet: classes.txt does not hold 1000 names") // the embedded file is part of the build
	}
	return names
}
