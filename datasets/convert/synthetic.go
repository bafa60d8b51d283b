package convert

import (
	"fmt"

	"github.com/pgaug/pgaug/datasets/arrowds"
	"github.com/pgaug/pgaug/datasets/synthetic"
)

// Synthetic writes the images of the synthetic generator (see package
// synthetic): same configuration, same dataset, byte for byte.
func Synthetic(cfg synthetic.Config, opts Options) (Result, error) {
	g, err := synthetic.New(cfg)
	if err != nil {
		return Result{}, err
	}
	s, err := newSink(opts, g.Meta(), g.Columns(), g.Len())
	if err != nil {
		return Result{}, err
	}
	err = ordered(g.Len(), opts.Workers, func(i int) (*arrowds.Sample, error) { return g.Sample(i), nil },
		func(i int, smp *arrowds.Sample, _ error) error {
			return s.add(fmt.Sprintf("synthetic image %d", i), smp)
		})
	return s.close(err)
}
