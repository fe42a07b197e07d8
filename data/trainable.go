package data

import (
	"fmt"
	"math"
	"strings"

	"github.com/pkg/errors"
)

// labelOf reads example i's label without decoding, through subsets; ok is
// false for sources that cannot.
func labelOf(src Source, i int) (int, bool) {
	switch s := src.(type) {
	case *pictureSubset:
		return labelOf(s.parent, s.idx[i])
	case *subset:
		return labelOf(s.parent, s.idx[i])
	case labeler:
		return s.label(i), true
	}
	return 0, false
}

// ClassCounts counts the examples of each class of src without decoding
// anything; ok is false for sources whose labels need decoding.
func ClassCounts(src Source) (counts []int, ok bool) {
	counts = make([]int, len(src.Classes()))
	for i := 0; i < src.Len(); i++ {
		l, ok := labelOf(src, i)
		if !ok {
			return nil, false
		}
		if l >= 0 && l < len(counts) {
			counts[l]++
		}
	}
	return counts, true
}

// CheckTrainable reports, before any work, a data set that cannot train a
// classifier: fewer than two classes, a class without training examples,
// or a validation share (--val-fraction) that leaves a class without
// held-out examples, so that it would never be validated (or, with a
// folder, the loader would find the held-out part empty after a whole
// mean pass). The errors name the class, the counts and the share.
func (s *Set) CheckTrainable() error {
	if len(s.Classes) < 2 {
		return errors.Errorf("data set %s has %d class%s (%s); a classifier needs at least 2 (for a folder: one sub-folder of pictures per class)",
			s.Name, len(s.Classes), map[bool]string{true: "", false: "es"}[len(s.Classes) == 1], strings.Join(quoted(s.Classes), ", "))
	}
	train, ok := ClassCounts(s.Train)
	if !ok {
		return nil
	}
	var held []int
	if s.heldOut != nil {
		if held, ok = ClassCounts(s.heldOut); !ok {
			held = nil
		}
	}
	var problems, names []string
	fewest := math.MaxInt
	for c, name := range s.Classes {
		total := train[c]
		if held != nil {
			total += held[c]
		}
		before := len(problems)
		switch {
		case total == 0:
			problems = append(problems, fmt.Sprintf("class %q has no examples", name))
		case total == 1 && held != nil:
			problems = append(problems, fmt.Sprintf("class %q has 1 example; it needs at least 2, one to train on and one to validate", name))
		case train[c] == 0:
			problems = append(problems, fmt.Sprintf("class %q has no training examples (%d held out)", name, held[c]))
		case held != nil && held[c] == 0:
			problems = append(problems, fmt.Sprintf("class %q has %d examples and the validation share %.3g (--val-fraction) holds out none of them", name, total, s.fraction))
			fewest = min(fewest, total)
		}
		if len(problems) > before {
			names = append(names, fmt.Sprintf("%q", name))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	msg := problems[0]
	if len(problems) > 1 {
		more := names[1:min(len(names), 6)]
		if len(names) > 6 {
			more = append(more, "...")
		}
		msg += fmt.Sprintf(" (and %d more classes: %s)", len(problems)-1, strings.Join(more, ", "))
	}
	hint := "give every class at least 2 examples"
	if fewest < math.MaxInt {
		// Split holds out round(fraction*n): at least one needs fraction >= 0.5/n.
		hint = fmt.Sprintf("use --val-fraction %.2g or more, or add examples to the small classes", math.Ceil(50/float64(fewest))/100)
	}
	return errors.Errorf("data set %s: %s; %s", s.Name, msg, hint)
}

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
