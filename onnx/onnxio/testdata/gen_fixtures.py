"""Regenerates the test fixtures in this directory: cd here, then /usr/bin/python3 gen_fixtures.py
(Debian's python3-onnx and python3-numpy, which scripts/setup.sh --test-deps installs).

Uses the ONNX Python package and NumPy as independent references; pgaug itself never
needs Python. The fixtures are committed, so the tests do not need Python either.

  external/model.onnx + external/weights.bin  a MatMul model whose weight is external data,
                                              written by onnx.save_model
  npy/*.npy                                   arrays written by numpy.save
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

os.makedirs("external", exist_ok=True)
w = (np.arange(16, dtype=np.float32) * 0.5).reshape(4, 4)
b = np.array([1, -1, 2, -2], dtype=np.float32)
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
    "external_data_fixture",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
    [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="gen_fixtures.py")
model.ir_version = 7
onnx.save_model(model, "external/model.onnx", save_as_external_data=True,
                all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)

os.makedirs("npy", exist_ok=True)
base = np.arange(6).reshape(2, 3)
np.save("npy/f4.npy", (base * 0.5).astype("<f4"))
np.save("npy/f8.npy", (base * 0.25 - 1).astype("<f8"))
np.save("npy/i8.npy", (base - 3).astype("<i8") * 1000000000000)
np.save("npy/i4.npy", (base - 3).astype("<i4"))
np.save("npy/u1.npy", (base * 50).astype("u1"))
np.save("npy/b1.npy", (base % 2 == 0))
np.save("npy/scalar_f4.npy", np.float32(2.5))
np.save("npy/f4_1d.npy", np.arange(5, dtype="<f4"))
np.save("npy/fortran_f4.npy", np.asfortranarray((base * 0.5).astype("<f4")))
np.save("npy/bigendian_f4.npy", (base * 0.5).astype(">f4"))
np.save("npy/c8.npy", base.astype("<c8"))
with open("npy/v2_f4.npy", "wb") as f:
    np.lib.format.write_array(f, (base * 0.5).astype("<f4"), version=(2, 0))
