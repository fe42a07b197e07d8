package weights

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// scanPickle walks the opcodes of one pickle in b (as pickletools.genops
// does, without running anything) up to its STOP, and returns the offset
// after it. It checks that every length an opcode carries fits in the bytes
// left, so that the unpickler that runs afterwards never allocates more than
// the file holds, and it refuses GLOBAL and INST opcodes naming a class
// outside allowed (STACK_GLOBAL is checked by the unpickler's FindClass).
func scanPickle(b []byte, allowed func(module, name string) bool) (int, error) {
	i := 0
	need := func(n uint64) error {
		if n > uint64(len(b)-i) {
			return fmt.Errorf("pickle opcode at byte %d wants %d bytes, %d are left", i, n, len(b)-i)
		}
		return nil
	}
	line := func() (string, error) {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return "", fmt.Errorf("pickle opcode at byte %d: unterminated line", i)
		}
		s := string(b[i : i+j])
		i += j + 1
		return s, nil
	}
	for i < len(b) {
		op := b[i]
		at := i
		i++
		var n uint64 // length of a counted argument
		switch op {
		case '.': // STOP
			return i, nil
		// no argument
		case 'N', 0x88, 0x89, ']', 'a', 'e', 'l', ')', 't', 0x85, 0x86, 0x87,
			'}', 'd', 's', 'u', 0x8f, 0x90, 0x91, '0', '2', '(', '1', 0x94,
			0x93, 'R', 'b', 'o', 0x81, 0x92, 'Q', 0x97, 0x98:
			continue
		// one line
		case 'I', 'L', 'S', 'V', 'F', 'g', 'p', 'P':
			s, err := line()
			if err != nil {
				return 0, err
			}
			if op == 'S' || op == 'V' {
				if err := bypassModule(strings.Trim(s, "'\"")); err != nil {
					return 0, err
				}
			}
			continue
		// two lines: module and name
		case 'c', 'i':
			mod, err := line()
			if err != nil {
				return 0, err
			}
			name, err := line()
			if err != nil {
				return 0, err
			}
			if !allowed(mod, name) {
				return 0, errClass(mod, name)
			}
			continue
		// fixed-size arguments
		case 'K', 'h', 'q', 0x80, 0x82, 'U', 'C', 0x8c, 0x8a:
			if err := need(1); err != nil {
				return 0, err
			}
			if op == 'U' || op == 'C' || op == 0x8c || op == 0x8a {
				n = uint64(b[i])
			}
			i++
		case 'M', 0x83:
			if err := need(2); err != nil {
				return 0, err
			}
			i += 2
		case 'J', 'j', 'r', 0x84, 'T', 'B', 'X', 0x8b:
			if err := need(4); err != nil {
				return 0, err
			}
			v := binary.LittleEndian.Uint32(b[i:])
			i += 4
			switch op {
			case 'T', 0x8b: // signed lengths
				if int32(v) < 0 {
					return 0, fmt.Errorf("pickle opcode at byte %d: negative length", at)
				}
				n = uint64(v)
			case 'B', 'X':
				n = uint64(v)
			}
		case 'G':
			if err := need(8); err != nil {
				return 0, err
			}
			i += 8
		case 0x8e, 0x96, 0x8d, 0x95: // BINBYTES8, BYTEARRAY8, BINUNICODE8, FRAME
			if err := need(8); err != nil {
				return 0, err
			}
			n = binary.LittleEndian.Uint64(b[i:])
			i += 8
			if op == 0x95 { // a frame holds the opcodes that follow
				if err := need(n); err != nil {
					return 0, err
				}
				continue
			}
		default:
			return 0, fmt.Errorf("pickle opcode 0x%02x at byte %d is unknown", op, at)
		}
		if err := need(n); err != nil {
			return 0, err
		}
		switch op {
		case 'X', 0x8c, 0x8d, 'T', 'U': // strings: a STACK_GLOBAL's module
			if err := bypassModule(string(b[i : i+int(n)])); err != nil {
				return 0, err
			}
		}
		i += int(n)
	}
	return 0, fmt.Errorf("pickle ends without STOP (%d bytes)", len(b))
}

// bypassModule refuses the modules gopickle resolves itself without asking
// FindClass (__builtin__.object, copy_reg._reconstructor): a STACK_GLOBAL
// naming them needs their name as a string somewhere in the pickle.
func bypassModule(s string) error {
	switch s {
	case "__builtin__", "copy_reg":
		return errClass(s, "*")
	}
	return nil
}

// errClass is the refusal of a class outside the allow-list.
type classError struct{ module, name string }

func errClass(module, name string) error { return &classError{module, name} }

func (e *classError) Error() string {
	if e.name == "*" {
		return fmt.Sprintf("asks for module %s; a weight file only needs torch tensors and dicts", e.module)
	}
	return fmt.Sprintf("asks for class %s.%s; a weight file only needs torch tensors and dicts", e.module, e.name)
}
