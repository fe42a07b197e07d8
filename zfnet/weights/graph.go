package weights

// Graph is an ONNX graph, just enough to turn a chain of layers into an
// architecture. Inputs lists the graph inputs that are not initializers
// (older exporters list every weight as an input too).
type Graph struct {
	Name    string
	Inputs  []ValueInfo
	Outputs []ValueInfo
	Nodes   []Node
}

// ValueInfo is a graph input or output: its name and shape, -1 for symbolic
// or unknown dimensions; Shape is nil when the file gives no shape.
type ValueInfo struct {
	Name  string
	Shape []int64
	// ElemType is the ONNX element type name ("float32", "int64", ...), ""
	// when not given.
	ElemType string
}

// Node is one ONNX operator: Op is its op_type ("Conv", "Gemm", ...),
// Domain its operator set domain ("" for the default ONNX domain).
type Node struct {
	Name, Op        string
	Domain          string
	Inputs, Outputs []string
	Attrs           map[string]Attr
}

// Attr is a node attribute. Kind says which field holds its value: "int",
// "ints", "float", "floats", "string", "strings", "tensor"; graph-valued and
// other attributes have Kind "graph", "graphs" or "other" and no value.
// Tensor holds a tensor attribute (e.g. a Constant's value) converted to
// float32, its DType telling the source type (int64 values beyond 2^24 lose
// precision).
type Attr struct {
	Name    string
	Kind    string
	Int     int64
	Ints    []int64
	Float   float32
	Floats  []float32
	String  string
	Strings []string
	Tensor  *Array
}
