package notebooks

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zfnet/zfnet/data/testenv"
)

// TestJupyterServer is the interactive route as a person takes it: a real
// Jupyter notebook server (Debian's jupyter-notebook, what the README's
// `jupyter notebook notebooks/` runs) with the project's gophernotes kernel,
// a notebook created and opened through the server's REST API, and a cell
// run through its websocket channel that renders a deconvnet projection;
// the test checks that the PNG arrives and shows something.
//
// It skips under -short, and skips loudly when jupyter-notebook is missing,
// unless ZFNET_REQUIRE_ALL=1, which turns that skip into a failure.
// ZFNET_NOTEBOOK_REUSE_KERNEL=1 reuses an already built kernel in .gen.
func TestJupyterServer(t *testing.T) {
	if testing.Short() {
		t.Skip("jupyter server: skipped under -short (builds the kernel and starts a server)")
	}
	server, err := exec.LookPath("jupyter-notebook")
	if err == nil {
		var out []byte
		if out, err = exec.Command(server, "--version").CombinedOutput(); err != nil {
			err = fmt.Errorf("%v: %.200s", err, out)
		}
	}
	if err != nil {
		testenv.SkipLoudly(t, "%s", fmt.Sprintf("jupyter-notebook is unavailable (%v); the interactive notebooks need it: "+
			"apt-get install -y --no-install-recommends jupyter-notebook", err))
	}
	gen, _ := filepath.Abs(".gen")
	if os.Getenv("ZFNET_NOTEBOOK_REUSE_KERNEL") != "1" || !fileExists(filepath.Join(gen, "bin", "gophernotes")) {
		start := time.Now()
		out, err := exec.Command("bash", "./build-kernel.sh").CombinedOutput()
		t.Logf("build-kernel.sh (%.1f s):\n%s", time.Since(start).Seconds(), out)
		if err != nil {
			t.Fatalf("build-kernel.sh: %v", err)
		}
	}

	// The server, on a free local port, with a token, its state in a
	// scratch folder and the project's kernelspec on JUPYTER_PATH.
	scratch := t.TempDir()
	port := freePort(t)
	token := fmt.Sprintf("%x", randomBytes(t, 16))
	cmd := exec.Command(server, "--no-browser", "--ip=127.0.0.1", fmt.Sprintf("--port=%d", port), "--port-retries=0",
		"--NotebookApp.token="+token, "--notebook-dir="+scratch)
	if os.Geteuid() == 0 { // containers and CI run as root, which the server refuses by default
		cmd.Args = append(cmd.Args, "--allow-root")
	}
	cmd.Env = append(os.Environ(),
		"JUPYTER_PATH="+filepath.Join(gen, "jupyter"),
		"JUPYTER_CONFIG_DIR="+filepath.Join(scratch, ".config"),
		"JUPYTER_DATA_DIR="+filepath.Join(scratch, ".data"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(scratch, ".runtime"))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the server and its kernels, stopped together
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("jupyter-notebook log:\n%s", log.String())
		}
	}()
	api := &jupyterAPI{base: fmt.Sprintf("http://127.0.0.1:%d", port), token: token}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var v map[string]any
		if err := api.call("GET", "/api", nil, &v); err == nil {
			t.Logf("jupyter notebook server %v on port %d", v["version"], port)
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the server did not answer within 60 s: %v", err)
		}
		select {
		case <-done:
			t.Fatalf("jupyter-notebook exited (%v) before it answered", cmd.ProcessState)
		case <-time.After(300 * time.Millisecond):
		}
	}
	var specs struct {
		Kernelspecs map[string]any `json:"kernelspecs"`
	}
	if err := api.call("GET", "/api/kernelspecs", nil, &specs); err != nil {
		t.Fatal(err)
	}
	if _, ok := specs.Kernelspecs["gophernotes"]; !ok {
		t.Fatalf("the server does not list the project's kernel (kernelspecs %v)", keys(specs.Kernelspecs))
	}

	// A notebook made and opened through the server: a session binds it to
	// a gophernotes kernel.
	nb := map[string]any{"type": "notebook", "content": map[string]any{
		"nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{"kernelspec": map[string]any{"name": "gophernotes", "display_name": "Go (zfnet)", "language": "go"}},
		"cells": []any{},
	}}
	if err := api.call("PUT", "/api/contents/deconvnet-check.ipynb", nb, nil); err != nil {
		t.Fatal(err)
	}
	var session struct {
		ID     string `json:"id"`
		Kernel struct {
			ID string `json:"id"`
		} `json:"kernel"`
	}
	if err := api.call("POST", "/api/sessions", map[string]any{"path": "deconvnet-check.ipynb", "type": "notebook", "name": "",
		"kernel": map[string]any{"name": "gophernotes"}}, &session); err != nil {
		t.Fatal(err)
	}
	defer api.call("DELETE", "/api/sessions/"+session.ID, nil, nil)
	ws, err := dialWebsocket(api.base, fmt.Sprintf("/api/kernels/%s/channels?session_id=%s&token=%s", session.Kernel.ID, session.ID, token))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.conn.Close()

	run := func(code string) ([]map[string]any, error) {
		return ws.execute(code, session.ID, 5*time.Minute)
	}
	if outs, err := run(`import (
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/figure"
	"github.com/zfnet/zfnet/zfnet"
)`); err != nil {
		t.Fatalf("import cell: %v (outputs %v)", err, outs)
	}
	outs, err := run(`a, err := zfnet.LookupArch("zfnet-small")
if err != nil { panic(err) }
m, err := zfnet.New(a)
if err != nil { panic(err) }
if err := m.Initialize(zfnet.InitHe, 1); err != nil { panic(err) }
net1, err := deconvnet.New(m, 1)
if err != nil { panic(err) }
x := make([]float32, 28*28)
for i := range x { x[i] = float32((i*37)%255)/255 - 0.5 }
if _, err := net1.Forward(x); err != nil { panic(err) }
proj, _, err := net1.ProjectTargets("conv5", []deconvnet.Target{{Map: 3, Strongest: true}}, deconvnet.Options{})
if err != nil { panic(err) }
figure.Scale(figure.ProjectionImage(proj[0], 1, 28, 28), 4)`)
	if err != nil {
		t.Fatalf("deconvnet cell: %v (outputs %v)", err, outs)
	}
	var pngs []string
	for _, o := range outs {
		if d, ok := o["data"].(map[string]any); ok {
			if s, ok := d["image/png"].(string); ok {
				pngs = append(pngs, s)
			}
		}
	}
	if len(pngs) != 1 {
		t.Fatalf("the deconvnet cell gave %d PNG pictures, want 1 (outputs %v)", len(pngs), outs)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(pngs[0]))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the picture that arrived is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 112 || b.Dy() != 112 {
		t.Errorf("projection picture %dx%d, want 112x112 (28x28 scaled 4x)", b.Dx(), b.Dy())
	}
	levels := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, _, _, _ := img.At(x, y).RGBA()
			levels[r>>8] = true
		}
	}
	if len(levels) < 8 {
		t.Errorf("the projection shows %d gray levels; a projection of a firing conv5 feature shows structure", len(levels))
	}
	t.Logf("a %dx%d deconvnet projection with %d gray levels arrived through the server", b.Dx(), b.Dy(), len(levels))
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// jupyterAPI calls the server's REST API with the token.
type jupyterAPI struct{ base, token string }

func (a *jupyterAPI) call(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "token "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %.300s", method, path, resp.Status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// websocket is a minimal RFC 6455 client: enough for Jupyter's kernel
// channels (JSON text messages; the project adds no websocket module).
type websocket struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialWebsocket(base, path string) (*websocket, error) {
	host := strings.TrimPrefix(base, "http://")
	conn, err := net.DialTimeout("tcp", host, 10*time.Second)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 16)
	rand.Read(key)
	k := base64.StdEncoding.EncodeToString(key)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\n\r\n", path, host, k, base)
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	sum := sha1.Sum([]byte(k + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		conn.Close()
		return nil, fmt.Errorf("websocket upgrade of %s: %s %s", path, resp.Status, b)
	}
	return &websocket{conn: conn, r: r}, nil
}

// write sends one masked frame.
func (w *websocket) write(op byte, payload []byte) error {
	h := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		h = append(h, 0x80|byte(n))
	case n < 1<<16:
		h = append(h, 0x80|126)
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	default:
		h = append(h, 0x80|127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	mask := make([]byte, 4)
	rand.Read(mask)
	h = append(h, mask...)
	masked := make([]byte, len(payload))
	for i, c := range payload {
		masked[i] = c ^ mask[i%4]
	}
	_, err := w.conn.Write(append(h, masked...))
	return err
}

// read returns the next data message, answering pings.
func (w *websocket) read() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(w.r, h[:]); err != nil {
			return nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var e [2]byte
			if _, err := io.ReadFull(w.r, e[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(e[:]))
		case 127:
			var e [8]byte
			if _, err := io.ReadFull(w.r, e[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(e[:])
		}
		var mask []byte
		if h[1]&0x80 != 0 {
			mask = make([]byte, 4)
			if _, err := io.ReadFull(w.r, mask); err != nil {
				return nil, err
			}
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(w.r, p); err != nil {
			return nil, err
		}
		if mask != nil {
			for i := range p {
				p[i] ^= mask[i%4]
			}
		}
		switch op {
		case 0x8:
			return nil, fmt.Errorf("the server closed the kernel channel")
		case 0x9:
			if err := w.write(0xA, p); err != nil {
				return nil, err
			}
			continue
		case 0xA:
			continue
		}
		msg = append(msg, p...)
		if fin {
			return msg, nil
		}
	}
}

// execute runs code in the kernel and returns the cell's display and
// result outputs (their content), failing on a kernel error.
func (w *websocket) execute(code, session string, timeout time.Duration) ([]map[string]any, error) {
	id := fmt.Sprintf("zfnet-test-%d", time.Now().UnixNano())
	msg := map[string]any{
		"header": map[string]any{"msg_id": id, "msg_type": "execute_request", "session": session, "username": "test",
			"version": "5.3", "date": time.Now().UTC().Format(time.RFC3339)},
		"parent_header": map[string]any{}, "metadata": map[string]any{}, "channel": "shell", "buffers": []any{},
		"content": map[string]any{"code": code, "silent": false, "store_history": true, "user_expressions": map[string]any{},
			"allow_stdin": false, "stop_on_error": true},
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	if err := w.write(0x1, b); err != nil {
		return nil, err
	}
	w.conn.SetReadDeadline(time.Now().Add(timeout))
	defer w.conn.SetReadDeadline(time.Time{})
	var outs []map[string]any
	var failure error
	replied, idle := false, false
	for !replied || !idle {
		raw, err := w.read()
		if err != nil {
			return outs, fmt.Errorf("waiting for the kernel: %v", err)
		}
		var m struct {
			Header       map[string]any `json:"header"`
			ParentHeader map[string]any `json:"parent_header"`
			Content      map[string]any `json:"content"`
		}
		if json.Unmarshal(raw, &m) != nil || m.ParentHeader["msg_id"] != id {
			continue
		}
		switch m.Header["msg_type"] {
		case "execute_reply":
			replied = true
			if m.Content["status"] != "ok" {
				failure = fmt.Errorf("execute_reply %v: %v %v", m.Content["status"], m.Content["ename"], m.Content["evalue"])
			}
		case "status":
			idle = m.Content["execution_state"] == "idle"
		case "error":
			failure = fmt.Errorf("kernel error %v: %v %v", m.Content["ename"], m.Content["evalue"], m.Content["traceback"])
		case "display_data", "execute_result", "stream":
			outs = append(outs, m.Content)
		}
	}
	return outs, failure
}
