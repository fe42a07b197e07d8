package notebooks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The notebooks, in reading order, each with the title of its first cell:
// the table of contents of README.md's notebook section, read from the
// .ipynb files themselves (plain JSON: a list of cells, each with its type
// and source lines), so a notebook added or renamed without the list here
// fails this example.
func Example_contents() {
	paths, err := filepath.Glob("*.ipynb")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Println(err)
			return
		}
		var nb struct {
			Cells []struct {
				CellType string   `json:"cell_type"`
				Source   []string `json:"source"`
			} `json:"cells"`
		}
		if err := json.Unmarshal(b, &nb); err != nil {
			fmt.Println(p, err)
			return
		}
		for _, c := range nb.Cells {
			if c.CellType == "markdown" && len(c.Source) > 0 {
				title, _, _ := strings.Cut(strings.Join(c.Source, ""), "\n")
				fmt.Printf("%s: %s\n", p, strings.TrimPrefix(title, "# "))
				break
			}
		}
	}
	// Output:
	// 01-quickstart.ipynb: 1. Quick start: build ZFNet, train it on MNIST, predict
	// 02-deconvnet.ipynb: 2. The deconvnet: what do the features respond to?
	// 03-occlusion.ipynb: 3. Occlusion sensitivity: is the network looking at the object?
	// 04-invariance-correspondence.ipynb: 4. Invariance and correspondence
	// 05-evolution.ipynb: 5. Feature evolution during training
	// 06-filters.ipynb: 6. First-layer filters: ZFNet vs AlexNet, and renormalization
	// 07-photographs.ipynb: 7. Photographs through a 224×224 network, no data set
	// 08-methods.ipynb: 8. The methods people compare the deconvnet with
	// 09-transfer.ipynb: 9. Transfer: how far do the features carry? (the paper's Section 5.2)
}
