package weights

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// ONNX models are decoded field by field with protowire, using the field
// numbers of onnx.proto (checked against onnx 1.12's onnx.proto):
//
//	ModelProto      graph=7
//	GraphProto      node=1 name=2 initializer=5 input=11 output=12
//	NodeProto       input=1 output=2 name=3 op_type=4 attribute=5 domain=7
//	AttributeProto  name=1 f=2 i=3 s=4 t=5 g=6 floats=7 ints=8 strings=9 graphs=11 type=20
//	TensorProto     dims=1 data_type=2 float_data=4 int32_data=5 int64_data=7
//	                name=8 raw_data=9 double_data=10 uint64_data=11
//	                external_data=13 data_location=14
//	StringStringEntryProto key=1 value=2
//	ValueInfoProto  name=1 type=2; TypeProto tensor_type=1;
//	TypeProto.Tensor elem_type=1 shape=2; TensorShapeProto dim=1;
//	Dimension dim_value=1 dim_param=2

// onnxDtypes maps TensorProto.DataType to dtype names.
var onnxDtypes = map[uint64]string{
	1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32",
	7: "int64", 9: "bool", 10: "float16", 11: "float64", 12: "uint32",
	13: "uint64", 16: "bfloat16",
}

var onnxTypeNames = map[uint64]string{8: "string", 14: "complex64", 15: "complex128"}

func onnxTypeName(t uint64) string {
	if s := onnxDtypes[t]; s != "" {
		return s
	}
	if s := onnxTypeNames[t]; s != "" {
		return s
	}
	return "type " + strconv.FormatUint(t, 10)
}

// ReadONNX reads an ONNX model: its initializers (float ones in Arrays,
// integer ones, such as Reshape shapes, in Ints) and its graph. Tensor data
// may be raw_data, typed float_data/double_data/int32_data/int64_data
// (packed or not), or external (data_location EXTERNAL: a file named by the
// "location" key, relative to the model's folder, from "offset" for
// "length" bytes; locations that leave the folder are refused).
func ReadONNX(path string) (file *File, err error) {
	defer guard(path, &file, &err)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := &onnxDecoder{path: path, dir: filepath.Dir(path), ext: map[string]*extFile{}}
	defer d.close()
	file, err = d.model(b)
	return file, errPrefix(path, err)
}

type onnxDecoder struct {
	path string
	dir  string
	ext  map[string]*extFile
}

type extFile struct {
	f    *os.File
	size int64
	read int64 // bytes read so far
}

func (d *onnxDecoder) close() {
	for _, e := range d.ext {
		e.f.Close()
	}
}

// field is one decoded protobuf field: its number and wire type, with the
// varint or fixed value, or the bytes of a length-delimited field.
type field struct {
	num protowire.Number
	typ protowire.Type
	u   uint64
	b   []byte
}

// fields decodes the top level of a message, naming what in errors.
func fields(b []byte, what string) ([]field, error) {
	var out []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("%s: malformed protobuf tag: %v", what, protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.u = uint64(v)
		case protowire.Fixed64Type:
			f.u, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, fmt.Errorf("%s: field %d: %v", what, num, protowire.ParseError(n))
		}
		b = b[n:]
		out = append(out, f)
	}
	return out, nil
}

func (f field) str() string { return string(f.b) }

// varints appends the values of a repeated varint field, packed or not.
func (f field) varints(dst []int64, what string) ([]int64, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, int64(f.u)), nil
	case protowire.BytesType:
		b := f.b
		for len(b) > 0 {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, fmt.Errorf("%s: malformed packed varints", what)
			}
			dst = append(dst, int64(v))
			b = b[n:]
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%s: field %d has wire type %d, expected varints", what, f.num, f.typ)
}

// fixed32s appends the values of a repeated float field, packed or not.
func (f field) floats(dst []float32, what string) ([]float32, error) {
	switch f.typ {
	case protowire.Fixed32Type:
		return append(dst, math.Float32frombits(uint32(f.u))), nil
	case protowire.BytesType:
		if len(f.b)%4 != 0 {
			return nil, fmt.Errorf("%s: packed floats of %d bytes, not a multiple of 4", what, len(f.b))
		}
		for i := 0; i < len(f.b); i += 4 {
			dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(f.b[i:])))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%s: field %d has wire type %d, expected floats", what, f.num, f.typ)
}

func (f field) doubles(dst []float64, what string) ([]float64, error) {
	switch f.typ {
	case protowire.Fixed64Type:
		return append(dst, math.Float64frombits(f.u)), nil
	case protowire.BytesType:
		if len(f.b)%8 != 0 {
			return nil, fmt.Errorf("%s: packed doubles of %d bytes, not a multiple of 8", what, len(f.b))
		}
		for i := 0; i < len(f.b); i += 8 {
			dst = append(dst, math.Float64frombits(binary.LittleEndian.Uint64(f.b[i:])))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%s: field %d has wire type %d, expected doubles", what, f.num, f.typ)
}

// wantBytes checks that a field is length-delimited.
func (f field) wantBytes(what string) error {
	if f.typ != protowire.BytesType {
		return fmt.Errorf("%s: field %d has wire type %d, expected a message or string", what, f.num, f.typ)
	}
	return nil
}

func (d *onnxDecoder) model(b []byte) (*File, error) {
	fs, err := fields(b, "ModelProto")
	if err != nil {
		return nil, fmt.Errorf("not an ONNX model: %v", err)
	}
	var graph []byte
	found := false
	for _, f := range fs {
		if f.num == 7 {
			if err := f.wantBytes("ModelProto.graph"); err != nil {
				return nil, err
			}
			graph, found = f.b, true
		}
	}
	if !found {
		return nil, fmt.Errorf("not an ONNX model: no graph (field 7)")
	}
	return d.graph(graph)
}

func (d *onnxDecoder) graph(b []byte) (*File, error) {
	fs, err := fields(b, "GraphProto")
	if err != nil {
		return nil, err
	}
	file := newFile(d.path, "onnx")
	g := &Graph{}
	var inputs []ValueInfo
	for _, f := range fs {
		switch f.num {
		case 1, 2, 5, 11, 12:
			if err := f.wantBytes("GraphProto"); err != nil {
				return nil, err
			}
		}
		switch f.num {
		case 1:
			n, err := d.node(f.b, len(g.Nodes))
			if err != nil {
				return nil, err
			}
			g.Nodes = append(g.Nodes, n)
		case 2:
			g.Name = f.str()
		case 5:
			t, err := d.tensor(f.b, fmt.Sprintf("initializer %d", len(file.Arrays.Names)+len(file.Ints.Names)))
			if err != nil {
				return nil, err
			}
			if t.name == "" {
				return nil, fmt.Errorf("an initializer has no name")
			}
			if file.has(t.name) {
				return nil, fmt.Errorf("initializer %q appears twice", t.name)
			}
			if t.floats != nil {
				file.addArray(t.name, t.floats)
			} else {
				file.addInt(t.name, t.ints)
			}
		case 11, 12:
			v, err := valueInfo(f.b)
			if err != nil {
				return nil, err
			}
			if f.num == 11 {
				inputs = append(inputs, v)
			} else {
				g.Outputs = append(g.Outputs, v)
			}
		}
	}
	for _, v := range inputs {
		if !file.has(v.Name) {
			g.Inputs = append(g.Inputs, v)
		}
	}
	file.Graph = g
	return file, nil
}

func valueInfo(b []byte) (ValueInfo, error) {
	var v ValueInfo
	fs, err := fields(b, "ValueInfoProto")
	if err != nil {
		return v, err
	}
	for _, f := range fs {
		if f.num == 1 && f.typ == protowire.BytesType {
			v.Name = f.str()
		}
	}
	for _, f := range fs {
		if f.num != 2 || f.typ != protowire.BytesType {
			continue
		}
		tfs, err := fields(f.b, fmt.Sprintf("value %q: TypeProto", v.Name))
		if err != nil {
			return v, err
		}
		for _, tf := range tfs {
			if tf.num != 1 || tf.typ != protowire.BytesType { // tensor_type
				continue
			}
			tt, err := fields(tf.b, fmt.Sprintf("value %q: TypeProto.Tensor", v.Name))
			if err != nil {
				return v, err
			}
			for _, x := range tt {
				switch {
				case x.num == 1 && x.typ == protowire.VarintType:
					v.ElemType = onnxTypeName(x.u)
				case x.num == 2 && x.typ == protowire.BytesType:
					dims, err := fields(x.b, fmt.Sprintf("value %q: shape", v.Name))
					if err != nil {
						return v, err
					}
					v.Shape = []int64{}
					for _, dim := range dims {
						if dim.num != 1 || dim.typ != protowire.BytesType {
							continue
						}
						dv, err := fields(dim.b, fmt.Sprintf("value %q: dim", v.Name))
						if err != nil {
							return v, err
						}
						size := int64(-1)
						for _, y := range dv {
							if y.num == 1 && y.typ == protowire.VarintType && int64(y.u) >= 0 {
								size = int64(y.u)
							}
						}
						v.Shape = append(v.Shape, size)
					}
				}
			}
		}
	}
	return v, nil
}

func (d *onnxDecoder) node(b []byte, i int) (Node, error) {
	n := Node{Attrs: map[string]Attr{}}
	fs, err := fields(b, fmt.Sprintf("node %d", i))
	if err != nil {
		return n, err
	}
	for _, f := range fs {
		if f.num == 3 && f.typ == protowire.BytesType {
			n.Name = f.str()
		}
	}
	what := fmt.Sprintf("node %d (%q)", i, n.Name)
	for _, f := range fs {
		switch f.num {
		case 1, 2, 4, 5, 7:
			if err := f.wantBytes(what); err != nil {
				return n, err
			}
		}
		switch f.num {
		case 1:
			n.Inputs = append(n.Inputs, f.str())
		case 2:
			n.Outputs = append(n.Outputs, f.str())
		case 4:
			n.Op = f.str()
		case 7:
			n.Domain = f.str()
		case 5:
			a, err := d.attr(f.b, what)
			if err != nil {
				return n, err
			}
			if _, dup := n.Attrs[a.Name]; dup {
				return n, fmt.Errorf("%s: attribute %q appears twice", what, a.Name)
			}
			n.Attrs[a.Name] = a
		}
	}
	return n, nil
}

var attrKinds = map[uint64]string{1: "float", 2: "int", 3: "string", 4: "tensor", 5: "graph",
	6: "floats", 7: "ints", 8: "strings", 10: "graphs"}

// attr decodes an AttributeProto: its name, then its fields (attrField),
// then its kind (read, or inferred for old files).
func (d *onnxDecoder) attr(b []byte, what string) (Attr, error) {
	var a Attr
	fs, err := fields(b, what+": attribute")
	if err != nil {
		return a, err
	}
	for _, f := range fs {
		if f.num == 1 && f.typ == protowire.BytesType {
			a.Name = f.str()
		}
	}
	what = fmt.Sprintf("%s: attribute %q", what, a.Name)
	var has [21]bool
	for _, f := range fs {
		if int(f.num) < len(has) {
			has[f.num] = true
		}
		if err := d.attrField(&a, f, what); err != nil {
			return a, err
		}
	}
	if a.Kind == "" { // files from before IR version 2 carry no type: infer it
		a.Kind = inferAttrKind(has)
	}
	if a.Kind == "tensor" && a.Tensor == nil {
		return a, fmt.Errorf("%s: of type tensor without a tensor", what)
	}
	return a, nil
}

// attrField reads one field of an AttributeProto into a. A single switch on
// the field number, as onnx.proto numbers them: each case reads one field.
func (d *onnxDecoder) attrField(a *Attr, f field, what string) (err error) {
	switch f.num {
	case 2:
		if f.typ != protowire.Fixed32Type {
			return fmt.Errorf("%s: f has wire type %d", what, f.typ)
		}
		a.Float = math.Float32frombits(uint32(f.u))
	case 3:
		if f.typ != protowire.VarintType {
			return fmt.Errorf("%s: i has wire type %d", what, f.typ)
		}
		a.Int = int64(f.u)
	case 4:
		if err := f.wantBytes(what); err != nil {
			return err
		}
		a.String = f.str()
	case 5:
		if err := f.wantBytes(what); err != nil {
			return err
		}
		t, err := d.tensor(f.b, what)
		if err != nil {
			return err
		}
		if t.floats != nil {
			a.Tensor = t.floats
		} else {
			a.Tensor = &Array{Shape: t.ints.Shape, DType: t.ints.DType, Data: make([]float32, len(t.ints.Data))}
			for i, v := range t.ints.Data {
				a.Tensor.Data[i] = float32(v)
			}
		}
	case 7:
		if a.Floats, err = f.floats(a.Floats, what); err != nil {
			return err
		}
	case 8:
		if a.Ints, err = f.varints(a.Ints, what); err != nil {
			return err
		}
	case 9:
		if err := f.wantBytes(what); err != nil {
			return err
		}
		a.Strings = append(a.Strings, f.str())
	case 20:
		if f.typ != protowire.VarintType {
			return fmt.Errorf("%s: type has wire type %d", what, f.typ)
		}
		a.Kind = attrKinds[f.u]
		if a.Kind == "" {
			a.Kind = "other"
		}
	}
	return nil
}

// inferAttrKind is the kind of an attribute without a type field (IR
// version 1): that of the first value field it has, "other" when none.
func inferAttrKind(has [21]bool) string {
	for _, k := range []struct {
		field int
		kind  string
	}{{2, "float"}, {3, "int"}, {4, "string"}, {5, "tensor"}, {6, "graph"}, {7, "floats"}, {8, "ints"}, {9, "strings"}, {11, "graphs"}} {
		if has[k.field] {
			return k.kind
		}
	}
	return "other"
}

// onnxTensor is a decoded TensorProto: floats or ints.
type onnxTensor struct {
	name   string
	floats *Array
	ints   *IntArray
}

// tensor decodes a TensorProto: its fields, its shape and dtype, then its
// values from raw_data (inline or external) or from the typed field the
// dtype calls for.
func (d *onnxDecoder) tensor(b []byte, what string) (*onnxTensor, error) {
	fs, err := fields(b, what+": TensorProto")
	if err != nil {
		return nil, err
	}
	t := &onnxTensor{}
	for _, f := range fs {
		if f.num == 8 && f.typ == protowire.BytesType {
			t.name = f.str()
		}
	}
	if t.name != "" {
		what = fmt.Sprintf("tensor %q", t.name)
	}
	tf, err := readTensorFields(fs, what)
	if err != nil {
		return nil, err
	}
	if !tf.hasType {
		return nil, fmt.Errorf("%s: no data_type", what)
	}
	dt := onnxDtypes[tf.dtype]
	if dt == "" {
		return nil, fmt.Errorf("%s: unsupported data_type %s", what, onnxTypeName(tf.dtype))
	}
	shape, n, err := tensorShape(tf.dims, what)
	if err != nil {
		return nil, err
	}
	size := dtypeSize[dt]
	if tf.external {
		if tf.raw, err = d.external(tf.extKV, n*size, what); err != nil {
			return nil, err
		}
		tf.hasRaw = true
	}
	if tf.hasRaw {
		if len(tf.raw) != n*size {
			return nil, fmt.Errorf("%s: raw_data holds %d bytes, %s %v needs %d", what, len(tf.raw), dt, shape, n*size)
		}
		t.floats, t.ints = fromRaw(tf.raw, shape, n, dt)
		return t, nil
	}
	if t.floats, t.ints, err = tf.typed(shape, n, dt, what); err != nil {
		return nil, err
	}
	return t, nil
}

// tensorFields are a TensorProto's fields as read, before they are checked
// against each other.
type tensorFields struct {
	dims     []int64
	dtype    uint64
	hasType  bool
	f32      []float32
	f64      []float64
	i64      []int64
	i32      []int64
	u64      []int64
	raw      []byte
	hasRaw   bool
	external bool
	extKV    map[string]string
}

// readTensorFields reads a TensorProto's fields. A single switch on the
// field number, as onnx.proto numbers them: each case reads one field.
func readTensorFields(fs []field, what string) (*tensorFields, error) {
	t := &tensorFields{extKV: map[string]string{}}
	var err error
	for _, f := range fs {
		switch f.num {
		case 1:
			t.dims, err = f.varints(t.dims, what+": dims")
		case 2:
			if f.typ != protowire.VarintType {
				return nil, fmt.Errorf("%s: data_type has wire type %d", what, f.typ)
			}
			t.dtype, t.hasType = f.u, true
		case 3:
			return nil, fmt.Errorf("%s: segmented tensors are not supported", what)
		case 4:
			t.f32, err = f.floats(t.f32, what+": float_data")
		case 5:
			t.i32, err = f.varints(t.i32, what+": int32_data")
		case 7:
			t.i64, err = f.varints(t.i64, what+": int64_data")
		case 9:
			if err = f.wantBytes(what + ": raw_data"); err == nil {
				t.raw, t.hasRaw = f.b, true
			}
		case 10:
			t.f64, err = f.doubles(t.f64, what+": double_data")
		case 11:
			t.u64, err = f.varints(t.u64, what+": uint64_data")
		case 13:
			err = readExternalKV(f, t.extKV, what)
		case 14:
			if f.typ != protowire.VarintType {
				return nil, fmt.Errorf("%s: data_location has wire type %d", what, f.typ)
			}
			t.external = f.u == 1
		}
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// readExternalKV reads one external_data entry (a StringStringEntryProto)
// into kv.
func readExternalKV(f field, kv map[string]string, what string) error {
	if err := f.wantBytes(what + ": external_data"); err != nil {
		return err
	}
	entry, err := fields(f.b, what+": external_data")
	if err != nil {
		return err
	}
	var k, v string
	for _, x := range entry {
		if x.typ == protowire.BytesType && x.num == 1 {
			k = x.str()
		} else if x.typ == protowire.BytesType && x.num == 2 {
			v = x.str()
		}
	}
	kv[k] = v
	return nil
}

// tensorShape checks dims and returns them as a shape with its element
// count.
func tensorShape(dims []int64, what string) ([]int, int, error) {
	shape := make([]int, len(dims))
	for i, v := range dims {
		if v < 0 || v > maxElems {
			return nil, 0, fmt.Errorf("%s: bad dimension %d in dims %v", what, v, dims)
		}
		shape[i] = int(v)
	}
	n, err := numel(shape)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %v", what, err)
	}
	return shape, n, nil
}

// fromRaw decodes n little-endian values of dtype dt (raw holds exactly
// them) as a float or an integer array.
func fromRaw(raw []byte, shape []int, n int, dt string) (*Array, *IntArray) {
	if isFloat(dt) {
		a := &Array{Shape: shape, Data: make([]float32, n), DType: dt}
		decodeFloats(a.Data, raw, dt, false)
		return a, nil
	}
	a := &IntArray{Shape: shape, Data: make([]int64, n), DType: dt}
	decodeInts(a.Data, raw, dt, false)
	return nil, a
}

// typed takes the values from the typed field onnx.proto assigns to dt
// (float16 and bfloat16 bits and the small integer types in int32_data),
// which must hold exactly n of them. A single switch on the dtype: each case
// is one field's conversion.
func (t *tensorFields) typed(shape []int, n int, dt, what string) (*Array, *IntArray, error) {
	count := func(have int, field string) error {
		if have != n {
			return fmt.Errorf("%s: %s holds %d values, %s %v needs %d", what, field, have, dt, shape, n)
		}
		return nil
	}
	switch dt {
	case "float32":
		if err := count(len(t.f32), "float_data"); err != nil {
			return nil, nil, err
		}
		f32 := t.f32
		if f32 == nil {
			f32 = []float32{}
		}
		return &Array{Shape: shape, Data: f32, DType: dt}, nil, nil
	case "float64":
		if err := count(len(t.f64), "double_data"); err != nil {
			return nil, nil, err
		}
		a := &Array{Shape: shape, Data: make([]float32, n), DType: dt}
		for i, v := range t.f64 {
			a.Data[i] = float32(v)
		}
		return a, nil, nil
	case "float16", "bfloat16": // bits in int32_data
		if err := count(len(t.i32), "int32_data"); err != nil {
			return nil, nil, err
		}
		a := &Array{Shape: shape, Data: make([]float32, n), DType: dt}
		for i, v := range t.i32 {
			if dt == "float16" {
				a.Data[i] = float16To32(uint16(v))
			} else {
				a.Data[i] = math.Float32frombits(uint32(uint16(v)) << 16)
			}
		}
		return a, nil, nil
	case "int64":
		if err := count(len(t.i64), "int64_data"); err != nil {
			return nil, nil, err
		}
		return nil, &IntArray{Shape: shape, Data: nonNil(t.i64), DType: dt}, nil
	case "uint32", "uint64":
		if err := count(len(t.u64), "uint64_data"); err != nil {
			return nil, nil, err
		}
		return nil, &IntArray{Shape: shape, Data: nonNil(t.u64), DType: dt}, nil
	default: // int32, int16, int8, uint16, uint8, bool in int32_data
		if err := count(len(t.i32), "int32_data"); err != nil {
			return nil, nil, err
		}
		for i, v := range t.i32 {
			t.i32[i] = int64(int32(v))
		}
		return nil, &IntArray{Shape: shape, Data: nonNil(t.i32), DType: dt}, nil
	}
}

// nonNil is v, or an empty slice for nil: an empty tensor's Data is never
// nil.
func nonNil(v []int64) []int64 {
	if v == nil {
		return []int64{}
	}
	return v
}

// external reads want bytes of external data: kv's location (relative to
// the model's folder, never leaving it), offset and length.
func (d *onnxDecoder) external(kv map[string]string, want int, what string) ([]byte, error) {
	loc := kv["location"]
	if loc == "" {
		return nil, fmt.Errorf("%s: external data without a location", what)
	}
	if !filepath.IsLocal(filepath.FromSlash(loc)) {
		return nil, fmt.Errorf("%s: external data location %q leaves the model's folder; refused", what, loc)
	}
	var off, length int64 = 0, int64(want)
	if s, ok := kv["offset"]; ok {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%s: external data offset %q is not a non-negative integer", what, s)
		}
		off = v
	}
	if s, ok := kv["length"]; ok {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%s: external data length %q is not a non-negative integer", what, s)
		}
		length = v
	}
	if length != int64(want) {
		return nil, fmt.Errorf("%s: external data length %d, the tensor needs %d bytes", what, length, want)
	}
	e := d.ext[loc]
	if e == nil {
		full := filepath.Join(d.dir, filepath.FromSlash(loc))
		realDir, err := filepath.EvalSymlinks(d.dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", what, err)
		}
		real, err := filepath.EvalSymlinks(full)
		if err != nil {
			return nil, fmt.Errorf("%s: external data %q: %v", what, loc, err)
		}
		if rel, err := filepath.Rel(realDir, real); err != nil || !filepath.IsLocal(rel) {
			return nil, fmt.Errorf("%s: external data location %q links outside the model's folder; refused", what, loc)
		}
		// Stat before opening: opening a FIFO would block.
		if st, err := os.Stat(real); err != nil || !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: external data %q is not a regular file", what, loc)
		}
		f, err := os.Open(real)
		if err != nil {
			return nil, fmt.Errorf("%s: external data: %v", what, err)
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			f.Close()
			return nil, fmt.Errorf("%s: external data %q is not a regular file", what, loc)
		}
		e = &extFile{f: f, size: st.Size()}
		d.ext[loc] = e
	}
	if off > e.size || length > e.size-off {
		return nil, fmt.Errorf("%s: external data %q: bytes [%d, %d) run past its %d bytes", what, loc, off, off+length, e.size)
	}
	// Tensors may not read more bytes of a file than it holds (overlapping
	// regions could otherwise make a small file allocate without bound).
	if e.read += length; e.read > e.size {
		return nil, fmt.Errorf("%s: external data %q: the tensors read %d bytes of a %d-byte file: their regions overlap", what, loc, e.read, e.size)
	}
	buf := make([]byte, length)
	if _, err := e.f.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("%s: external data %q: %v", what, loc, err)
	}
	return buf, nil
}
