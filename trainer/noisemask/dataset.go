package noisemask

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/pgaug/pgaug/trainer/ops/elementwise"
	"github.com/pgaug/pgaug/trainer/ops/opkit"
)

// The noise-mask paper's mixing weights: a = τ_i·a_dataset + (1−τ_i)·a_img,
// a_dataset ← τ_d·a_dataset + (1−τ_d)·mean_batch(a_img).
const (
	DefaultTauI = 0.9  // weight of the dataset-level parameters in the mix
	DefaultTauD = 0.99 // decay of the dataset-level moving average
)

// DatasetParams are the dataset-level parameters a_dataset and b_dataset,
// G² values each, in the same (log) space as the policy's a_img and b_img.
// They carry no gradient: [DatasetParams.Update] moves them by an exponential
// moving average of the batch means of the image-level parameters.
type DatasetParams struct {
	Grid int       // G: A and B hold G·G values, row-major
	A, B []float32 // a_dataset, b_dataset
}

// NewDatasetParams returns parameters for a G×G grid drawn independently
// from the standard normal distribution N(0, 1) (the paper: "random and
// sampled from normal distribution"), reproducibly from seed. For the Beta
// model that makes α = exp(a) and β = exp(b) log-normal with median 1.
func NewDatasetParams(grid int, seed uint64) (*DatasetParams, error) {
	if grid < 1 {
		return nil, fmt.Errorf("noisemask: grid %d, want >= 1", grid)
	}
	rng := rand.New(rand.NewPCG(seed, 0xda7a5e7))
	n := grid * grid
	p := &DatasetParams{Grid: grid, A: make([]float32, n), B: make([]float32, n)}
	for i := range p.A {
		p.A[i] = float32(rng.NormFloat64())
	}
	for i := range p.B {
		p.B[i] = float32(rng.NormFloat64())
	}
	return p, nil
}

// NewDatasetParamsAt returns parameters for a G×G grid with a and b in
// every cell: a start chosen by the user (see [Model.ParamsFor]) in place
// of the paper's random one.
func NewDatasetParamsAt(grid int, a, b float32) (*DatasetParams, error) {
	if grid < 1 {
		return nil, fmt.Errorf("noisemask: grid %d, want >= 1", grid)
	}
	if math.IsNaN(float64(a)) || math.IsInf(float64(a), 0) || math.IsNaN(float64(b)) || math.IsInf(float64(b), 0) {
		return nil, fmt.Errorf("noisemask: dataset-level start a = %v, b = %v: want finite values", a, b)
	}
	n := grid * grid
	p := &DatasetParams{Grid: grid, A: make([]float32, n), B: make([]float32, n)}
	for i := range p.A {
		p.A[i], p.B[i] = a, b
	}
	return p, nil
}

// Cells is G².
func (p *DatasetParams) Cells() int { return p.Grid * p.Grid }

func (p *DatasetParams) check() error {
	if p == nil {
		return fmt.Errorf("noisemask: nil DatasetParams")
	}
	if p.Grid < 1 || len(p.A) != p.Cells() || len(p.B) != p.Cells() {
		return fmt.Errorf("noisemask: DatasetParams grid %d with %d and %d values, want %d each", p.Grid, len(p.A), len(p.B), p.Cells())
	}
	return nil
}

func checkTau(name string, tau float64) error {
	if !(tau >= 0 && tau <= 1) {
		return fmt.Errorf("noisemask: %s = %v, want 0 <= %s <= 1", name, tau, name)
	}
	return nil
}

func (p *DatasetParams) checkBatch(what string, aImg, bImg []float32, batch int) error {
	if err := p.check(); err != nil {
		return err
	}
	if batch < 1 {
		return fmt.Errorf("noisemask: %s: batch %d, want >= 1", what, batch)
	}
	if n := batch * p.Cells(); len(aImg) != n || len(bImg) != n {
		return fmt.Errorf("noisemask: %s: len(aImg) = %d, len(bImg) = %d, want batch·G² = %d·%d = %d", what, len(aImg), len(bImg), batch, p.Cells(), n)
	}
	return nil
}

// Mix returns a = τ_i·a_dataset + (1−τ_i)·a_img and the same for b, for a
// batch of B×G² image-level parameters (row-major, one row per image): the
// parameters the sampler uses.
func (p *DatasetParams) Mix(aImg, bImg []float32, batch int, tauI float64) (a, b []float32, err error) {
	if err := p.checkBatch("Mix", aImg, bImg, batch); err != nil {
		return nil, nil, err
	}
	if err := checkTau("tau_i", tauI); err != nil {
		return nil, nil, err
	}
	// float32 arithmetic in the graph's order, so host and graph agree.
	ti, ui := float32(tauI), float32(1-tauI)
	n := p.Cells()
	a, b = make([]float32, len(aImg)), make([]float32, len(bImg))
	for r := 0; r < batch; r++ {
		for i := 0; i < n; i++ {
			k := r*n + i
			a[k] = aImg[k]*ui + p.A[i]*ti
			b[k] = bImg[k]*ui + p.B[i]*ti
		}
	}
	return a, b, nil
}

// Update moves the dataset-level parameters towards the batch means of the
// image-level ones: a_dataset ← τ_d·a_dataset + (1−τ_d)·mean_batch(a_img),
// the same for b (no gradient). Means accumulate in float64.
func (p *DatasetParams) Update(aImg, bImg []float32, batch int, tauD float64) error {
	if err := p.checkBatch("Update", aImg, bImg, batch); err != nil {
		return err
	}
	if err := checkTau("tau_d", tauD); err != nil {
		return err
	}
	for i, v := range aImg {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.IsNaN(float64(bImg[i])) || math.IsInf(float64(bImg[i]), 0) {
			return fmt.Errorf("noisemask: Update: image-level parameter %d is not finite", i)
		}
	}
	n := p.Cells()
	for i := 0; i < n; i++ {
		var sa, sb float64
		for r := 0; r < batch; r++ {
			sa += float64(aImg[r*n+i])
			sb += float64(bImg[r*n+i])
		}
		p.A[i] = float32(tauD*float64(p.A[i]) + (1-tauD)*sa/float64(batch))
		p.B[i] = float32(tauD*float64(p.B[i]) + (1-tauD)*sb/float64(batch))
	}
	return nil
}

// Clone returns a deep copy.
func (p *DatasetParams) Clone() *DatasetParams {
	return &DatasetParams{Grid: p.Grid, A: append([]float32(nil), p.A...), B: append([]float32(nil), p.B...)}
}

type datasetJSON struct {
	Grid     int       `json:"grid"`
	ADataset []float32 `json:"a_dataset"`
	BDataset []float32 `json:"b_dataset"`
}

// MarshalJSON writes {"grid": G, "a_dataset": [...], "b_dataset": [...]};
// float32 values round-trip exactly.
func (p *DatasetParams) MarshalJSON() ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	return json.Marshal(datasetJSON{Grid: p.Grid, ADataset: p.A, BDataset: p.B})
}

// UnmarshalJSON restores what MarshalJSON wrote, checking the sizes.
func (p *DatasetParams) UnmarshalJSON(data []byte) error {
	var d datasetJSON
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("noisemask: dataset parameters: %w", err)
	}
	q := DatasetParams{Grid: d.Grid, A: d.ADataset, B: d.BDataset}
	if err := q.check(); err != nil {
		return err
	}
	*p = q
	return nil
}

// MixGraph is the mixing in a gorgonia graph (see [DatasetParams.MixNode]).
type MixGraph struct {
	A, B               *gorgonia.Node // mixed parameters, B×G², differentiable in aImg, bImg
	ADataset, BDataset *gorgonia.Node // input nodes (G²) holding the dataset-level values
}

// Names of the dataset-level input nodes MixNode adds to a graph.
const (
	ADatasetNodeName = "noisemask.a_dataset"
	BDatasetNodeName = "noisemask.b_dataset"
)

// MixNode builds a = τ_i·a_dataset + (1−τ_i)·aImg (and b) in the graph of
// aImg and bImg (float32, B×G² each). a_dataset and b_dataset become input
// nodes named [ADatasetNodeName] and [BDatasetNodeName] holding the current
// values; they are not meant to be differentiated: the gradient that reaches
// aImg (bImg) is (1−τ_i) times the gradient of a (b). After each
// [DatasetParams.Update], call [DatasetParams.Bind] before the next run so
// the graph sees the new values.
func (p *DatasetParams) MixNode(aImg, bImg *gorgonia.Node, tauI float64) (*MixGraph, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if err := checkTau("tau_i", tauI); err != nil {
		return nil, err
	}
	if aImg == nil || bImg == nil {
		return nil, fmt.Errorf("noisemask: MixNode: nil node")
	}
	for _, n := range []*gorgonia.Node{aImg, bImg} {
		if err := opkit.CheckFloat32("noisemask.MixNode", n.Name(), n); err != nil {
			return nil, err
		}
		if s := opkit.ShapeOf(n); s.Dims() != 2 || s[1] != p.Cells() {
			return nil, fmt.Errorf("noisemask: MixNode: %q has shape %v, want B×%d", n.Name(), s, p.Cells())
		}
	}
	if !opkit.ShapeOf(aImg).Eq(opkit.ShapeOf(bImg)) {
		return nil, fmt.Errorf("noisemask: MixNode: aImg %v and bImg %v differ in shape", aImg.Shape(), bImg.Shape())
	}
	g := aImg.Graph()
	if g != bImg.Graph() {
		return nil, fmt.Errorf("noisemask: MixNode: aImg and bImg are in different graphs")
	}
	for _, name := range []string{ADatasetNodeName, BDatasetNodeName} {
		if len(g.ByName(name)) > 0 {
			return nil, fmt.Errorf("noisemask: MixNode: the graph already has a node %q (one mix per graph)", name)
		}
	}
	n := p.Cells()
	mg := &MixGraph{
		ADataset: gorgonia.NewTensor(g, tensor.Float32, 1, gorgonia.WithShape(n), gorgonia.WithName(ADatasetNodeName),
			gorgonia.WithValue(tensor.New(tensor.WithShape(n), tensor.WithBacking(append([]float32(nil), p.A...))))),
		BDataset: gorgonia.NewTensor(g, tensor.Float32, 1, gorgonia.WithShape(n), gorgonia.WithName(BDatasetNodeName),
			gorgonia.WithValue(tensor.New(tensor.WithShape(n), tensor.WithBacking(append([]float32(nil), p.B...))))),
	}
	c := &chain{what: "MixNode"}
	mix := func(img, ds *gorgonia.Node) *gorgonia.Node {
		si := c.do(func() (*gorgonia.Node, error) { return gorgonia.Mul(img, f32(1-tauI)) })
		sd := c.do(func() (*gorgonia.Node, error) { return gorgonia.Mul(ds, f32(tauI)) })
		return c.do(func() (*gorgonia.Node, error) { return elementwise.Add(si, sd) })
	}
	mg.A = mix(aImg, mg.ADataset)
	mg.B = mix(bImg, mg.BDataset)
	if c.err != nil {
		return nil, c.err
	}
	return mg, nil
}

// Bind copies the current dataset-level values into the input nodes of mg
// (gorgonia.Let), for the next run of the graph.
func (p *DatasetParams) Bind(mg *MixGraph) error {
	if err := p.check(); err != nil {
		return err
	}
	if mg == nil || mg.ADataset == nil || mg.BDataset == nil {
		return fmt.Errorf("noisemask: Bind: incomplete MixGraph")
	}
	for _, x := range []struct {
		n *gorgonia.Node
		v []float32
	}{{mg.ADataset, p.A}, {mg.BDataset, p.B}} {
		if s := x.n.Shape(); s.TotalSize() != len(x.v) {
			return fmt.Errorf("noisemask: Bind: node %q has shape %v, the parameters have %d values", x.n.Name(), s, len(x.v))
		}
		t := tensor.New(tensor.WithShape(len(x.v)), tensor.WithBacking(append([]float32(nil), x.v...)))
		if err := gorgonia.Let(x.n, t); err != nil {
			return fmt.Errorf("noisemask: Bind: %w", err)
		}
	}
	return nil
}
