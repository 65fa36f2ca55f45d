"""Window classifiers with one interface: TensorRT engine, ONNX Runtime, Keras."""
