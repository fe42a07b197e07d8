package figure

import (
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data/atomicfile"
)

// GalleryItem is one picture of a gallery page.
type GalleryItem struct {
	File    string // PNG path relative to the gallery folder
	Title   string
	Caption string
	Section string // items are grouped by section, in first-seen order
}

var galleryPage = template.Must(template.New("gallery").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:sans-serif;margin:2em;background:#fafafa;color:#222}
figure{display:inline-block;margin:0 1.5em 1.5em 0;vertical-align:top;max-width:100%}
img{max-width:100%;image-rendering:pixelated;border:1px solid #ccc;background:#fff}
figcaption{font-size:90%;max-width:40em}</style></head>
<body><h1>{{.Title}}</h1>
{{range .Sections}}<h2>{{.Name}}</h2>
{{range .Items}}<figure><a href="{{.File}}"><img src="{{.File}}" alt="{{.Title}}"></a><figcaption><b>{{.Title}}</b>{{if .Caption}}<br>{{.Caption}}{{end}}</figcaption></figure>
{{end}}{{end}}</body></html>
`))

// WriteGallery writes dir/index.html showing items. Existing items recorded
// in dir/gallery.tsv by earlier calls are kept (a later experiment adds to
// the same gallery), replaced when a file is written again.
func WriteGallery(dir, title string, items []GalleryItem) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errors.Wrapf(err, "creating %s", dir)
	}
	all := readGalleryIndex(filepath.Join(dir, "gallery.tsv"))
	for _, it := range items {
		replaced := false
		for i := range all {
			if all[i].File == it.File {
				all[i], replaced = it, true
			}
		}
		if !replaced {
			all = append(all, it)
		}
	}
	var tsv strings.Builder
	type section struct {
		Name  string
		Items []GalleryItem
	}
	var sections []*section
	bySection := map[string]*section{}
	for _, it := range all {
		clean := func(s string) string { return strings.NewReplacer("\t", " ", "\n", " ").Replace(s) }
		tsv.WriteString(clean(it.File) + "\t" + clean(it.Title) + "\t" + clean(it.Caption) + "\t" + clean(it.Section) + "\n")
		s, ok := bySection[it.Section]
		if !ok {
			s = &section{Name: it.Section}
			bySection[it.Section] = s
			sections = append(sections, s)
		}
		s.Items = append(s.Items, it)
	}
	if err := atomicfile.Write(filepath.Join(dir, "gallery.tsv"), func(w io.Writer) error {
		_, err := io.WriteString(w, tsv.String())
		return err
	}); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "index.html"), func(w io.Writer) error {
		return errors.Wrap(galleryPage.Execute(w, map[string]any{"Title": title, "Sections": sections}), "writing index.html")
	})
}

func readGalleryIndex(path string) []GalleryItem {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var items []GalleryItem
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 4 {
			items = append(items, GalleryItem{File: f[0], Title: f[1], Caption: f[2], Section: f[3]})
		}
	}
	return items
}
