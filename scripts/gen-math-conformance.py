#!/usr/bin/env python3
"""Write ONNX's own operator test cases for Pow, Min, Max, Abs, Erf and Reciprocal.

The shared ONNX test data (../shared/onnx-conformance/node) holds only test_pow
and three test_max_* cases of these operators; this writes the rest of ONNX's
cases (pow_bcast_*, pow_types_*, min_*, max_<type>, abs, erf, reciprocal*) from
the generators that ship with the ONNX Python package, in the layout of the
ONNX backend tests (model.onnx, test_data_set_0/{input,output}_N.pb):

    /usr/bin/python3 scripts/gen-math-conformance.py onnx/conformance/testdata/math

It was run with Debian's python3-onnx 1.12.0 and NumPy 1.24 (opset 15 for Pow,
13 for the others). The generators draw random inputs: NumPy is seeded, so a
rerun with the same versions writes the same files. Cases with uint64 tensors
are left out: onnxio does not read uint64 (and the importer takes only
floating-point graph inputs, so they would be skipped anyway).
"""

import os
import shutil
import subprocess
import sys

OPS = ["Pow", "Min", "Max", "Abs", "Erf", "Reciprocal"]


def write_cases(out, op):
    import numpy as np

    # ONNX 1.12's generators predate NumPy 1.24, which removed these aliases.
    for alias, t in (("float", float), ("int", int), ("bool", bool), ("object", object), ("complex", complex)):
        if alias not in np.__dict__:
            setattr(np, alias, t)
    np.random.seed(0)
    from onnx import numpy_helper
    import onnx.backend.test.case.node as node_test

    for case in node_test.collect_testcases(op):
        graph = case.model.graph
        types = [vi.type.tensor_type.elem_type for vi in list(graph.input) + list(graph.output)]
        if 13 in types:  # TensorProto.UINT64
            print("left out (uint64):", case.name)
            continue
        d = os.path.join(out, case.name)
        data = os.path.join(d, "test_data_set_0")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(data)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        inputs, outputs = case.data_sets[0]
        for kind, values, infos in (("input", inputs, graph.input), ("output", outputs, graph.output)):
            for j, a in enumerate(values):
                with open(os.path.join(data, "%s_%d.pb" % (kind, j)), "wb") as f:
                    f.write(numpy_helper.from_array(a, infos[j].name).SerializeToString())
        print(case.name, "opset", case.model.opset_import[0].version)


def main():
    if len(sys.argv) == 3:
        write_cases(sys.argv[1], sys.argv[2])
        return
    if len(sys.argv) != 2:
        sys.exit("usage: gen-math-conformance.py OUTPUT_DIR")
    # ONNX collects the cases of one operator per process.
    for op in OPS:
        subprocess.run([sys.executable, "-W", "ignore", __file__, sys.argv[1], op], check=True)


if __name__ == "__main__":
    main()
