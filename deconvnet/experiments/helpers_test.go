package experiments

import (
	"testing"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/deconvnet"
	"github.com/zfnet/zfnet/deconvnet/internal/fixture"
)

// The fixtures the experiments' tests share with the core's (package
// fixture), under the names the tests use.
var (
	vizMNIST   = fixture.MNIST
	vizArch    = fixture.Arch
	vizUniform = fixture.Uniform
	vizCfgNone data.LoaderConfig
)

// vizSmallNet is zfnet-small with He weights and a deconvnet for batches
// of the given size.
func vizSmallNet(t *testing.T, batch int, seed int64) *deconvnet.Net {
	t.Helper()
	d, err := deconvnet.New(fixture.SmallModel(t, seed), batch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
