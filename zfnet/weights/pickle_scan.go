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
	s := &pickleScan{b: b, allowed: allowed}
	for s.i < len(s.b) {
		op, at := s.b[s.i], s.i
		s.i++
		if op == '.' { // STOP
			return s.i, nil
		}
		n, counted, err := s.argument(op, at)
		if err != nil {
			return 0, err
		}
		if !counted {
			continue
		}
		if err := s.need(n); err != nil {
			return 0, err
		}
		switch op {
		case 'X', 0x8c, 0x8d, 'T', 'U': // strings: a STACK_GLOBAL's module
			if err := bypassModule(string(s.b[s.i : s.i+int(n)])); err != nil {
				return 0, err
			}
		}
		s.i += int(n)
	}
	return 0, fmt.Errorf("pickle ends without STOP (%d bytes)", len(b))
}

// pickleScan is scanPickle's position in the pickle.
type pickleScan struct {
	b       []byte
	i       int
	allowed func(module, name string) bool
}

// need checks that n more bytes are left.
func (s *pickleScan) need(n uint64) error {
	if n > uint64(len(s.b)-s.i) {
		return fmt.Errorf("pickle opcode at byte %d wants %d bytes, %d are left", s.i, n, len(s.b)-s.i)
	}
	return nil
}

// line reads a newline-terminated argument.
func (s *pickleScan) line() (string, error) {
	j := bytes.IndexByte(s.b[s.i:], '\n')
	if j < 0 {
		return "", fmt.Errorf("pickle opcode at byte %d: unterminated line", s.i)
	}
	v := string(s.b[s.i : s.i+j])
	s.i += j + 1
	return v, nil
}

// argument skips opcode op's own argument. counted says that n bytes of
// data (a string's, a bytes object's) follow it, which the caller checks
// and skips. The switch sorts the opcodes by the form of their argument, as
// pickletools lists them.
func (s *pickleScan) argument(op byte, at int) (n uint64, counted bool, err error) {
	switch op {
	// no argument
	case 'N', 0x88, 0x89, ']', 'a', 'e', 'l', ')', 't', 0x85, 0x86, 0x87,
		'}', 'd', 's', 'u', 0x8f, 0x90, 0x91, '0', '2', '(', '1', 0x94,
		0x93, 'R', 'b', 'o', 0x81, 0x92, 'Q', 0x97, 0x98:
		return 0, false, nil
	case 'I', 'L', 'S', 'V', 'F', 'g', 'p', 'P', 'c', 'i':
		return 0, false, s.textArgument(op)
	case 'K', 'h', 'q', 0x80, 0x82, 'U', 'C', 0x8c, 0x8a, 'M', 0x83,
		'J', 'j', 'r', 0x84, 'T', 'B', 'X', 0x8b, 'G', 0x8e, 0x96, 0x8d, 0x95:
		return s.binaryArgument(op, at)
	default:
		return 0, false, fmt.Errorf("pickle opcode 0x%02x at byte %d is unknown", op, at)
	}
}

// textArgument reads the newline-terminated argument of a protocol 0
// opcode: one line, or for GLOBAL and INST two (module and name), whose
// class must be allowed.
func (s *pickleScan) textArgument(op byte) error {
	if op != 'c' && op != 'i' {
		v, err := s.line()
		if err != nil {
			return err
		}
		if op == 'S' || op == 'V' {
			return bypassModule(strings.Trim(v, "'\""))
		}
		return nil
	}
	mod, err := s.line()
	if err != nil {
		return err
	}
	name, err := s.line()
	if err != nil {
		return err
	}
	if !s.allowed(mod, name) {
		return errClass(mod, name)
	}
	return nil
}

// binaryArgument skips a fixed-size argument of 1, 2, 4 or 8 bytes and
// returns the length it gives, for the opcodes whose argument is one. A
// FRAME's length is checked here and not counted: the frame holds the
// opcodes that follow.
func (s *pickleScan) binaryArgument(op byte, at int) (n uint64, counted bool, err error) {
	switch op {
	case 'K', 'h', 'q', 0x80, 0x82, 'U', 'C', 0x8c, 0x8a:
		if err := s.need(1); err != nil {
			return 0, false, err
		}
		if op == 'U' || op == 'C' || op == 0x8c || op == 0x8a {
			n = uint64(s.b[s.i])
		}
		s.i++
	case 'M', 0x83:
		if err := s.need(2); err != nil {
			return 0, false, err
		}
		s.i += 2
	case 'J', 'j', 'r', 0x84, 'T', 'B', 'X', 0x8b:
		if err := s.need(4); err != nil {
			return 0, false, err
		}
		v := binary.LittleEndian.Uint32(s.b[s.i:])
		s.i += 4
		switch op {
		case 'T', 0x8b: // signed lengths
			if int32(v) < 0 {
				return 0, false, fmt.Errorf("pickle opcode at byte %d: negative length", at)
			}
			n = uint64(v)
		case 'B', 'X':
			n = uint64(v)
		}
	case 'G':
		if err := s.need(8); err != nil {
			return 0, false, err
		}
		s.i += 8
	case 0x8e, 0x96, 0x8d, 0x95: // BINBYTES8, BYTEARRAY8, BINUNICODE8, FRAME
		if err := s.need(8); err != nil {
			return 0, false, err
		}
		n = binary.LittleEndian.Uint64(s.b[s.i:])
		s.i += 8
		if op == 0x95 { // a frame holds the opcodes that follow
			return 0, false, s.need(n)
		}
	}
	return n, true, nil
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
