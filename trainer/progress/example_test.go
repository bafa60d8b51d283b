package progress_test

import (
	"os"

	"github.com/pgaug/pgaug/trainer/progress"
)

func ExampleNew() {
	no := false
	bar := progress.New(os.Stdout, "infer", 3, progress.Options{Unit: "img", Terminal: &no})
	for range 3 {
		bar.Add(1, "")
	}
	// Done prints the final line (count, rate and elapsed time), which
	// depends on the machine's speed; it is not shown here.
	_ = bar
}
