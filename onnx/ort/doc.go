// Package ort finds, loads and wraps the ONNX Runtime shared library
// (through github.com/yalue/onnxruntime_go).
//
// The library is looked up in this order: an explicit path (the CLI's
// --ort-lib flag), the PGAUG_ORT_LIB environment variable, then the
// project-local copy that scripts/setup.sh installs
// (.deps/onnxruntime/libonnxruntime.so.1, searched for upwards from the
// working directory and from the executable's directory). A missing or
// unloadable library gives one error that says where it looked and how to
// get one, never a panic.
package ort
