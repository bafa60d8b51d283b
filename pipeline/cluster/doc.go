// Package cluster writes the files that run a pgaug experiment on a
// cluster's scheduler, cell by cell, with the scheduler doing the
// distribution: Slurm sbatch array scripts (WriteSlurm) and Kubernetes
// Indexed Jobs (WriteK8s).
//
// An experiment of S seeds and M methods runs as three steps:
//
//  1. the shared stages of each seed (import, converge and the converged
//     model's inference), an array of S tasks: `pgaug experiment CONFIG
//     --shared I`;
//  2. the cells, an array of S·M tasks, once step 1 has finished: `pgaug
//     experiment CONFIG --cell I` (cell I is seed I/M, method I%M);
//  3. the tables and reports, once every cell has finished: `pgaug
//     experiment CONFIG --collect`.
//
// Every task is safe to requeue or restart: a stage that was interrupted
// resumes from its checkpoints, a finished one is skipped. The run
// directory must be on storage every node sees.
package cluster
