// Package executor runs a gorgonia expression graph without gorgonia's tape
// machine: the nodes that the requested roots depend on, in topological
// order, each operator dispatched to a Backend with the output buffer it
// wrote on the previous run.
//
// The buffer plan is made on the first run: every operator that implements
// gorgonia.UsePreallocDoer gets a buffer of its output's shape, allocated
// once and written in place on every later run, so a training step in the
// steady state allocates no activations or gradients (the tape machine's
// Reset drops every register, so each step allocated them all anew). An
// operator without UsePreallocDo runs its Do and allocates as before.
//
// Values are read through Program.Value, not gorgonia.Read (a Read node is
// a statement the tape machine interprets; this executor does not run it)
// nor Node.Value (only input nodes are bound). A value stays valid until
// the next Run overwrites it: copy what must outlive the step.
//
// The CPU backend calls the operators' UsePreallocDo and Do. A device
// backend (the GPU issue) implements the same interface and keeps its
// buffers on the device; the plan and the dispatch stay the same.
package executor
