package verify

import (
	"fmt"
	"math"

	"github.com/pgaug/pgaug/onnx/exporter"
	"github.com/pgaug/pgaug/onnx/importer"
	"github.com/pgaug/pgaug/onnx/onnxio"
)

// RoundTripReport is the result of RoundTrip.
type RoundTripReport struct {
	Params       int     // parameters compared
	Statistics   int     // BatchNormalization running statistics compared
	ParamsEqual  bool    // every parameter and statistic bit-identical after the round trip
	FirstDiff    string  // the first parameter that differs, if any
	Against      Report  // OUT's gorgonia forward vs ONNX Runtime on IN
	MaxOutputAbs float64 // largest |OUT − IN| over outputs (ONNX Runtime on both)
}

// RoundTrip imports in, exports it to out (atomically), imports out again and
// checks that every parameter is bit-identical and that ONNX Runtime gives
// the same outputs for in and out, and gorgonia's forward of out matches them.
func RoundTrip(in, out string, meta map[string]string, producerVersion string, opts Options) (RoundTripReport, error) {
	var rep RoundTripReport
	opts.defaults()
	m, err := importer.ImportFile(in)
	if err != nil {
		return rep, err
	}
	mp, err := exporter.Export(m, exporter.Options{Metadata: meta, ProducerVersion: producerVersion})
	if err != nil {
		return rep, err
	}
	if err := onnxio.Save(out, mp); err != nil {
		return rep, err
	}
	m2, err := importer.ImportFile(out)
	if err != nil {
		return rep, fmt.Errorf("re-importing the exported model: %w", err)
	}
	rep.ParamsEqual = len(m.Params) == len(m2.Params)
	if !rep.ParamsEqual {
		rep.FirstDiff = fmt.Sprintf("%d parameters before, %d after", len(m.Params), len(m2.Params))
	}
	for _, p := range m.Params {
		rep.Params++
		q := m2.Param(p.Name)
		if q == nil {
			if rep.ParamsEqual {
				rep.ParamsEqual, rep.FirstDiff = false, p.Name+" is missing"
			}
			continue
		}
		a, b := p.Value.Data().([]float32), q.Value.Data().([]float32)
		if len(a) != len(b) {
			if rep.ParamsEqual {
				rep.ParamsEqual, rep.FirstDiff = false, p.Name+" changed size"
			}
			continue
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				if rep.ParamsEqual {
					rep.ParamsEqual, rep.FirstDiff = false, fmt.Sprintf("%s[%d]: %v became %v", p.Name, i, a[i], b[i])
				}
				break
			}
		}
	}
	for name, bn := range m.BN {
		bn2 := m2.BN[name]
		if bn2 == nil {
			if rep.ParamsEqual {
				rep.ParamsEqual, rep.FirstDiff = false, "BatchNormalization "+name+" is missing"
			}
			continue
		}
		rep.Statistics++
		m1, v1 := bn.State.Stats()
		m2s, v2 := bn2.State.Stats()
		for i := range m1 {
			if math.Float32bits(m1[i]) != math.Float32bits(m2s[i]) || math.Float32bits(v1[i]) != math.Float32bits(v2[i]) {
				if rep.ParamsEqual {
					rep.ParamsEqual, rep.FirstDiff = false, fmt.Sprintf("running statistics of %s, channel %d", name, i)
				}
				break
			}
		}
	}
	// The same inputs for both files.
	inputs, err := makeInputs(m, opts)
	if err != nil {
		return rep, err
	}
	opts.Inputs = inputs
	if !opts.SkipORT {
		refIn, err := runORT(in, nil, m, inputs, opts.Threads)
		if err != nil {
			return rep, err
		}
		refOut, err := runORT(out, nil, m2, inputs, opts.Threads)
		if err != nil {
			return rep, fmt.Errorf("ONNX Runtime on the exported model: %w", err)
		}
		for i := range refIn {
			for k := range refIn[i] {
				rep.MaxOutputAbs = math.Max(rep.MaxOutputAbs, math.Abs(float64(refIn[i][k])-float64(refOut[i][k])))
			}
		}
	}
	rep.Against, err = Model(m2, out, opts)
	return rep, err
}
