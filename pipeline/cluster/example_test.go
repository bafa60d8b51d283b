package cluster_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pgaug/pgaug/pipeline/cluster"
)

// An experiment of 5 seeds × 4 methods as Slurm arrays: 5 tasks of shared
// stages, then 20 cells, then the tables.
func ExampleWriteSlurm() {
	dir, _ := os.MkdirTemp("", "slurm")
	defer os.RemoveAll(dir)
	f, err := cluster.WriteSlurm(dir, cluster.Job{Binary: "/opt/pgaug", Config: "/shared/exp.toml", WorkDir: "/shared", Seeds: 5, Cells: 20, CPUs: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(filepath.Base(f.Shared), filepath.Base(f.Cells), filepath.Base(f.Collect), filepath.Base(f.Submit))
	// Output: shared.sbatch cells.sbatch collect.sbatch submit.sh
}
